/**
 * The helper thread behind synchronous remote reads (remote-sync.ts): it runs the
 * asynchronous range fetch and wakes the caller, which waits on a shared flag.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import { DiffaiError } from '../errors.js';
import { fetchRange, type RemoteState } from './http-range.js';

const { port, flag } = workerData as { port: MessagePort; flag: SharedArrayBuffer };
const signal = new Int32Array(flag);

port.on('message', async (message: { state: RemoteState; start: number; end: number }) => {
  const { state } = message;
  let reply: unknown;
  const transfer: ArrayBuffer[] = [];
  try {
    const bytes = await fetchRange(state, message.start, message.end);
    reply = { bytes, size: state.size, etag: state.etag, resolved: state.resolved, whole: state.whole };
    transfer.push(bytes.buffer as ArrayBuffer);
  } catch (e) {
    const err =
      e instanceof DiffaiError
        ? { file: e.file, message: e.message, status: (e as { status?: number }).status }
        : { message: String((e as Error)?.message ?? e) };
    reply = { error: err };
  }
  port.postMessage(
    reply,
    transfer.filter((b, i) => transfer.indexOf(b) === i && b !== state.whole?.buffer),
  );
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
});
