/**
 * Starting pool workers. A worker needs tens of milliseconds to boot (a Node environment and
 * the bundled engine; over 100 on a loaded machine), so the command line starts the workers a
 * large run will use while it still reads the models' headers (prestartWorkers), and the pool
 * takes them over (takeWorker). Every worker gets the kernels this thread compiled (a
 * WebAssembly.Module crosses threads with its compiled code) instead of compiling its own.
 */
import type { Worker } from 'node:worker_threads';
import { remoteSeeds } from '../io/remote-file.js';
import { lazyBuiltin } from '../lazy-builtin.js';
import { compileKernels, compiledKernels } from './kernels.js';

/** Loaded with the first worker: single-thread runs skip it (~4 ms of start-up). */
const workerThreads = lazyBuiltin<typeof import('node:worker_threads')>('node:worker_threads');

/** What a worker's engine is made with (its workerData besides remote files' sizes). */
export interface WorkerSettings {
  chunkElements?: number;
  readsInFlight?: number;
}

export interface StartedWorker {
  worker: Worker;
  /** Resolves once the worker runs and has the kernels (jobs posted after that find them there). */
  ready: Promise<void>;
}

interface Spare extends StartedWorker {
  settings: string;
  /** An error the worker reported before a pool took it. */
  failed: boolean;
}

/** Workers started ahead of a pool, not yet taken. */
const spares: Spare[] = [];

/**
 * The worker, bundled into one file by the build (scripts/bundle.js: it boots faster than its
 * ES modules): beside this module in the built package; from the sources (tests run
 * src/*.ts, and a worker cannot load TypeScript) it is the build's dist/src/engine/worker.cjs.
 */
export const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/src/engine/worker.cjs', import.meta.url)
  : new URL('../engine/worker.cjs', import.meta.url); // also right from the CLI bundle in dist/src/cli

/** Starts a worker whose engine is made with `settings`. */
export function startWorker(settings: WorkerSettings): StartedWorker {
  const { Worker } = workerThreads();
  // No inherited execArgv: flags such as --input-type or --eval of the parent break a worker.
  // Remote files' sizes travel along, so a worker's first read needs no extra request.
  const worker = new Worker(WORKER_URL, {
    workerData: { chunkElements: settings.chunkElements, readsInFlight: settings.readsInFlight, remote: remoteSeeds() },
    execArgv: [],
  });
  const online = new Promise<void>((resolve) => worker.once('online', () => resolve()));
  // Posted before any job (messages arrive in order). Without it (the kernels failed to
  // compile here) the worker compiles its own and reports the failure with its first job.
  const kernels = compileKernels().then(
    () => worker.postMessage({ kernels: compiledKernels() }),
    () => undefined,
  );
  return { worker, ready: Promise.all([online, kernels]).then(() => undefined) };
}

/**
 * Starts `count` workers for a pool that is about to be made with `settings`: they boot while
 * this thread reads headers. They do not keep the process alive until a pool takes them;
 * releaseSpareWorkers ends those no pool took.
 */
export function prestartWorkers(count: number, settings: WorkerSettings = {}): void {
  for (let i = 0; i < count; i++) {
    const started = startWorker(settings);
    const spare: Spare = { ...started, settings: keyOf(settings), failed: false };
    spare.worker.once('error', () => {
      spare.failed = true;
    });
    spare.worker.unref();
    spares.push(spare);
  }
}

/** A started worker made with `settings`: a spare if one is left (a failed one is ended), else a new one. */
export function takeWorker(settings: WorkerSettings): StartedWorker {
  const key = keyOf(settings);
  for (let i = 0; i < spares.length; i++) {
    const spare = spares[i]!;
    if (spare.settings !== key) continue;
    spares.splice(i--, 1);
    if (spare.failed) {
      void spare.worker.terminate();
      continue;
    }
    spare.worker.ref();
    return spare;
  }
  return startWorker(settings);
}

/** Resolves once every spare worker has booted and has the kernels. */
export async function sparesReady(): Promise<void> {
  await Promise.all(spares.map((s) => s.ready));
}

/** Workers started ahead and not yet taken by a pool. */
export function spareWorkers(): number {
  return spares.length;
}

/** Ends the spare workers no pool took. */
export async function releaseSpareWorkers(): Promise<void> {
  const left = spares.splice(0);
  await Promise.all(left.map((s) => s.worker.terminate()));
}

function keyOf(settings: WorkerSettings): string {
  return `${settings.chunkElements}/${settings.readsInFlight}`;
}
