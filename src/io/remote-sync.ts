/**
 * Synchronous range fetches for the format readers, which read headers by position without
 * awaiting: the fetch runs on one helper thread while this thread waits on a shared flag
 * (Atomics.wait), then takes the answer with receiveMessageOnPort. The helper is started on
 * the first remote read and does not keep the process alive.
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import { lazyBuiltin } from '../lazy-builtin.js';
import { RemoteError, type RemoteState, timeoutSeconds } from './http-range.js';

/** Loaded on the first remote read only: most runs never need a helper thread. */
const workerThreads = lazyBuiltin<typeof import('node:worker_threads')>('node:worker_threads');

interface Helper {
  worker: Worker;
  port: MessagePort;
  signal: Int32Array;
}

let helper: Helper | undefined;

/**
 * The compiled helper: beside this module in the built package; from the sources (tests run
 * src/*.ts, and a worker cannot load TypeScript) it is the build's dist/src/io/remote-sync-worker.js.
 */
const HELPER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/src/io/remote-sync-worker.js', import.meta.url)
  : new URL('../io/remote-sync-worker.js', import.meta.url); // also right from the CLI bundle in dist/src/cli

function startHelper(): Helper {
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const { MessageChannel, Worker } = workerThreads();
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(HELPER_URL, { workerData: { port: port2, flag: signal.buffer }, transferList: [port2], execArgv: [] });
  worker.unref();
  port1.unref();
  return { worker, port: port1, signal };
}

interface Reply {
  parts?: Uint8Array[];
  size?: number;
  etag?: string;
  resolved?: string;
  whole?: Uint8Array;
  error?: { file?: string; message: string; status?: number };
}

/** Bytes `start..end-1` of the remote file (clipped to its size), fetched while this thread waits; `state` learns size, ETag and redirects. */
export function fetchRangeSync(state: RemoteState, start: number, end: number): Uint8Array {
  return fetchRangesSync(state, [[start, end]])[0]!;
}

/**
 * Several ranges at once (the helper runs a few requests in parallel), each clipped to the
 * file size, in the order asked; this thread waits for all of them.
 */
export function fetchRangesSync(state: RemoteState, ranges: Array<[number, number]>): Uint8Array[] {
  if (ranges.length === 0) return [];
  helper ??= startHelper();
  const { port, signal } = helper;
  Atomics.store(signal, 0, 0);
  const { whole: _whole, ...plain } = state;
  port.postMessage({ state: plain, ranges });
  // The helper bounds every request by its own timeouts and retries; this bound only guards
  // against a helper that died (its messages cannot arrive while this thread waits).
  const bytes = ranges.reduce((sum, [start, end]) => sum + (end - start), 0);
  const limitMs = (timeoutSeconds() * (2 * ranges.length + bytes / (1 << 20)) * 6 + 60) * 1000;
  if (Atomics.wait(signal, 0, 0, limitMs) === 'timed-out') {
    helper.worker.terminate().catch(() => undefined);
    helper = undefined;
    throw new RemoteError(state.target.label, 'timed out waiting for the network helper thread');
  }
  const reply = workerThreads().receiveMessageOnPort(port)?.message as Reply | undefined;
  if (!reply) throw new RemoteError(state.target.label, 'the network helper thread gave no answer');
  if (reply.error) {
    throw new RemoteError(reply.error.file ?? state.target.label, reply.error.message, reply.error.status);
  }
  state.size = reply.size;
  state.etag = reply.etag;
  state.resolved = reply.resolved;
  if (reply.whole) state.whole = reply.whole;
  const whole = reply.whole;
  return whole ? ranges.map(([start, end]) => whole.slice(start, Math.min(end, whole.length))) : reply.parts!;
}
