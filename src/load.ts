/**
 * Loading models for one library call: paths become readable local files (standard input
 * and gzip are spooled, formats/input.ts), each is described by its reader (or the forced
 * one), GGUF names are aligned with Hugging Face names when the other side uses them, and
 * key remapping (diff/rename.ts) is applied per side. Spool files live exactly as
 * long as the call's callback.
 */
import { applyKeyMap, type KeyMapOptions } from './diff/rename.js';
import { alignGgufNames } from './formats/gguf/hf-names.js';
import { withLocalInputs } from './formats/input.js';
import { describeModel, type ForcedFormat } from './formats/registry.js';
import type { ModelDescription } from './formats/types.js';

export interface LoadOptions extends KeyMapOptions {
  /** Read every file with this reader (`--format`); bytes of another format are an error. */
  format?: ForcedFormat;
}

/**
 * Describes the models at `paths` and runs `fn` on them. The first model is side A of the
 * key maps, every later one side B. Descriptions carry the path as given (`-` for stdin).
 */
export function withModels<T>(paths: string[], options: LoadOptions, fn: (models: ModelDescription[]) => Promise<T>): Promise<T> {
  return withLocalInputs(paths, async (inputs) => {
    // A file given twice (a self-diff) is described once: both sides share the description.
    const once = new Map<string, Promise<ModelDescription>>();
    const describe = (local: string) => {
      let d = once.get(local);
      if (!d) once.set(local, (d = describeModel(local, { format: options.format })));
      return d;
    };
    const described = await Promise.all(
      inputs.local.map(async (local) => {
        const d = await describe(local);
        return inputs.label(local) === local ? d : { ...d, path: inputs.label(local) };
      }),
    );
    // GGUF names become Hugging Face names when another model uses those; then the user's rules.
    return fn(alignGgufNames(described).map((m, i) => applyKeyMap(m, options, i === 0 ? 'a' : 'b')));
  });
}
