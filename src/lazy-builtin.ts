/**
 * A Node builtin loaded on first use rather than at start-up: zlib, worker_threads and crypto
 * each cost milliseconds to load, and most runs never need them (an uncompressed file, one
 * thread, no GGUF checksum). Through require(), which also serves the CommonJS bundle of the CLI.
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export function lazyBuiltin<T>(name: `node:${string}`): () => T {
  let module: T | undefined;
  return () => (module ??= load(name) as T);
}
