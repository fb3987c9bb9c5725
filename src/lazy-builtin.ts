/**
 * A Node builtin loaded on first use rather than at start-up: zlib, worker_threads and crypto
 * each cost milliseconds to load, and most runs never need them (an uncompressed file, one
 * thread, no GGUF checksum). Through process.getBuiltinModule where Node has it (20.16+), else
 * through require(), which also serves the CommonJS bundle of the CLI; that require function
 * is made on first use too (createRequire resolves module paths: measurable at start-up).
 */
import { createRequire } from 'node:module';

let load: NodeJS.Require | undefined;

export function lazyBuiltin<T>(name: `node:${string}`): () => T {
  let module: T | undefined;
  return () => (module ??= builtin(name) as T);
}

function builtin(name: `node:${string}`): unknown {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (get) return get(name);
  load ??= createRequire(import.meta.url);
  return load(name);
}
