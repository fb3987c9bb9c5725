/** A pool worker: its own WASM instance and file handles; runs jobs posted by the pool. */
import { parentPort, workerData } from 'node:worker_threads';
import { Engine, type ReadMode } from './engine.js';
import { useCompiledKernels } from './kernels.js';
import type { ColumnJob } from './columns.js';
import type { Job } from './ops.js';
import { DiffaiError } from '../errors.js';
import { type RemoteSeed, seedRemoteFiles } from '../io/remote-file.js';

const data = workerData as { chunkElements?: number; readsInFlight?: number; remote?: RemoteSeed[] } | undefined;
seedRemoteFiles(data?.remote ?? []);
const engine = new Engine({ chunkElements: data?.chunkElements, readsInFlight: data?.readsInFlight });

let tail: Promise<void> = Promise.resolve();

async function runJob(id: number, job: Job | ColumnJob): Promise<void> {
  try {
    const result = await engine.execute(job);
    // A column job's records, and f64 blocks a job's items return (matvec), move to the pool thread without a copy.
    parentPort!.postMessage({ id, result }, transferable(result));
  } catch (e) {
    const error =
      e instanceof DiffaiError
        ? { diffai: true, file: e.file, message: e.message }
        : { diffai: false, message: (e as Error)?.message ?? String(e), stack: (e as Error)?.stack };
    parentPort!.postMessage({ id, error });
  }
}

parentPort!.on('message', (message: { id: number; job: Job | ColumnJob } | { kernels: WebAssembly.Module } | { reads: ReadMode | undefined }) => {
  if ('reads' in message) {
    engine.setReads(message.reads);
    return;
  }
  if ('kernels' in message) {
    // The pool's compiled kernels arrive before any job: the engine is made now, not when the first job waits for it.
    useCompiledKernels(message.kernels);
    try {
      engine.prepare();
    } catch {
      // Reported by the first job, which makes the kernels again.
    }
    return;
  }
  // The pool may post a job while the last runs (pool.ts freeWorker): they run one after another, the engine's buffers being one set.
  const { id, job } = message;
  tail = tail.then(() => runJob(id, job));
});

/** The buffers of the result's Float64Arrays that own them whole (never a view of WASM or shared memory). */
function transferable(result: unknown[] | Float64Array): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const r of result instanceof Float64Array ? [result] : result) {
    if (r instanceof Float64Array && r.buffer instanceof ArrayBuffer && r.byteOffset === 0 && r.byteLength === r.buffer.byteLength) buffers.add(r.buffer);
  }
  return [...buffers];
}
