/**
 * Loading models for one library call: paths become readable local files (standard input
 * and gzip are spooled, formats/input.ts), each is described by its reader (or the forced
 * one), and key remapping (diff/rename.ts) is applied per side. Spool files live exactly as
 * long as the call's callback.
 */
import { applyKeyMap, type KeyMapOptions } from './diff/rename.js';
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
    const models = await Promise.all(
      inputs.local.map(async (local, i) => {
        const described = await describeModel(local, { format: options.format });
        const labelled = inputs.label(local) === local ? described : { ...described, path: inputs.label(local) };
        return applyKeyMap(labelled, options, i === 0 ? 'a' : 'b');
      }),
    );
    return fn(models);
  });
}
