/**
 * The helper thread behind synchronous remote reads (remote-sync.ts): it runs the
 * asynchronous range fetches (one range, or a batch a few at a time) and wakes the caller,
 * which waits on a shared flag.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import { DiffaiError } from '../errors.js';
import { mapLimited } from './coalesce.js';
import { fetchRange, type RemoteState } from './http-range.js';

const { port, flag } = workerData as { port: MessagePort; flag: SharedArrayBuffer };
const signal = new Int32Array(flag);
/** Requests of one batch in flight at once. */
const BATCH_CONCURRENCY = 4;

port.on('message', async (message: { state: RemoteState; ranges: Array<[number, number]> }) => {
  const { state } = message;
  let reply: unknown;
  const transfer: ArrayBuffer[] = [];
  try {
    // The first range alone when the size is unknown yet: it learns the size (and a redirect) for the rest.
    const first = state.size === undefined && message.ranges.length > 1 ? [await fetchRange(state, ...message.ranges[0]!)] : [];
    const rest = await mapLimited(message.ranges.slice(first.length), BATCH_CONCURRENCY, ([start, end]) => fetchRange(state, start, end));
    const parts = [...first, ...rest];
    reply = { parts, size: state.size, etag: state.etag, resolved: state.resolved, whole: state.whole };
    for (const p of parts) transfer.push(p.buffer as ArrayBuffer);
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
