/** A pool worker: its own WASM instance and file handles; runs jobs posted by the pool. */
import { parentPort, workerData } from 'node:worker_threads';
import { Engine } from './engine.js';
import type { ColumnJob } from './columns.js';
import type { Job } from './ops.js';
import { DiffaiError } from '../errors.js';
import { type RemoteSeed, seedRemoteFiles } from '../io/remote-file.js';

const data = workerData as { chunkElements?: number; remote?: RemoteSeed[] } | undefined;
seedRemoteFiles(data?.remote ?? []);
const engine = new Engine({ chunkElements: data?.chunkElements });

parentPort!.on('message', async (message: { id: number; job: Job | ColumnJob }) => {
  try {
    const result = await engine.execute(message.job);
    // A column job's records move to the pool thread without a copy.
    parentPort!.postMessage({ id: message.id, result }, result instanceof Float64Array ? [result.buffer as ArrayBuffer] : []);
  } catch (e) {
    const error =
      e instanceof DiffaiError
        ? { diffai: true, file: e.file, message: e.message }
        : { diffai: false, message: (e as Error)?.message ?? String(e), stack: (e as Error)?.stack };
    parentPort!.postMessage({ id: message.id, error });
  }
});
