/**
 * Starts the engine's slow parts before a command reads the models' headers: the WASM
 * kernels' compilation (V8 compiles on its own threads; the engine takes the result, see
 * src/engine/kernels.ts compileKernels) and, for a run that will use a worker pool, the
 * pool's workers (src/engine/worker-start.ts), which boot meanwhile. A failure is not
 * reported here but where the kernels or workers are used.
 */
import { statSync } from 'node:fs';
import { defaultThreads, POOL_MIN_BYTES } from '../engine/executor.js';
import { compileKernels } from '../engine/kernels.js';
import { prestartWorkers } from '../engine/worker-start.js';

export { releaseSpareWorkers } from '../engine/worker-start.js';
import { isRemotePath } from '../io/remote-path.js';

export function startCompilingKernels(): void {
  compileKernels().catch(() => {});
}

/**
 * startCompilingKernels, and the workers of the pool a run over these local model files
 * makes (`threads` engine threads, the main thread's included) when they hold enough data for
 * one (the executor's POOL_MIN_BYTES; what the run reads is known only later, and a run that
 * reads less leaves the workers to releaseSpareWorkers).
 */
export function startEngineEarly(paths: string[], threads: number | undefined): void {
  startCompilingKernels();
  const count = Math.max(1, Math.floor(threads ?? defaultThreads())) - 1;
  if (count === 0) return;
  let bytes = 0;
  for (const path of paths) {
    if (isRemotePath(path)) return; // the workers get remote files' sizes when the pool starts them
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat?.isFile()) return;
    bytes += stat.size;
  }
  if (bytes >= POOL_MIN_BYTES) prestartWorkers(count);
}
