/**
 * Where jobs run: in the main thread (one engine, jobs one at a time) or on a pool of
 * worker threads, each with its own engine. The pool keeps its queue ordered largest job
 * first, so big tensors start early and small ones fill the gaps.
 */
import type { Worker } from 'node:worker_threads';
import { DiffaiError } from '../errors.js';
import { Engine, type EngineOptions, jobFailure } from './engine.js';
import type { ColumnJob } from './columns.js';
import { takeWorker } from './worker-start.js';
import type { Job, OpName, OpResult } from './ops.js';

export interface Backend {
  /** Runs any registered op's job; one result per item. */
  run<K extends OpName>(job: Job<K>, weight: number): Promise<Array<OpResult<K>>>;
  /**
   * Runs a column job (many small plain tensors); one record per item (columns.ts), written
   * into `into` when given and the job runs in this thread (else a new array).
   */
  runColumns(job: ColumnJob, weight: number, into?: Float64Array): Promise<Float64Array>;
  close(): Promise<void>;
}

/** Runs jobs one after another on an engine in this thread. */
export class InThreadBackend implements Backend {
  private engine: Engine;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: EngineOptions) {
    this.engine = new Engine(options);
  }

  run<K extends OpName>(job: Job<K>): Promise<Array<OpResult<K>>> {
    return this.queued(() => this.engine.execute(job) as Promise<Array<OpResult<K>>>);
  }

  runColumns(job: ColumnJob, _weight: number, into?: Float64Array): Promise<Float64Array> {
    return this.queued(() => this.engine.runColumns(job, into).catch((e: unknown) => Promise.reject(jobFailure(e, job))));
  }

  private queued<T>(work: () => Promise<T>): Promise<T> {
    // The engine has one set of WASM buffers: jobs must not interleave across awaits.
    // After close (e.g. another job failed), queued jobs are dropped instead of read.
    const result = this.tail.then(() => (this.closed ? Promise.reject(new Error('engine closed')) : work()));
    this.tail = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
    this.engine.close();
  }
}

interface Pending {
  job: Job | ColumnJob;
  weight: number;
  resolve(results: unknown): void;
  reject(error: unknown): void;
}

/**
 * The main thread's engine plus threads − 1 workers, all taking from one queue. The main
 * thread starts at once; workers need ~50–100 ms to boot and join when ready, so short
 * runs lose nothing to start-up.
 */
export class WorkerPoolBackend implements Backend {
  private local: Engine;
  private localBusy = false;
  /** Booted workers (with the kernels) and the jobs each holds. */
  private held = new Map<Worker, number>();
  private workers: Worker[] = [];
  private queue: Pending[] = [];
  private running = new Map<number, Pending & { worker: Worker }>();
  private nextId = 0;
  private closed = false;

  constructor(
    private threads: number,
    private options: EngineOptions,
  ) {
    this.local = new Engine(options);
  }

  run<K extends OpName>(job: Job<K>, weight: number): Promise<Array<OpResult<K>>> {
    return this.enqueue(job, weight) as Promise<Array<OpResult<K>>>; // workers run the job by its op name, so results match it
  }

  runColumns(job: ColumnJob, weight: number): Promise<Float64Array> {
    return this.enqueue(job, weight) as Promise<Float64Array>;
  }

  private enqueue(job: Job | ColumnJob, weight: number): Promise<unknown> {
    return new Promise((resolve: (results: unknown) => void, reject) => {
      if (this.closed) return reject(new Error('worker pool is closed'));
      // Insert keeping the queue sorted by weight, largest first (stable for equal weights).
      let i = this.queue.length;
      while (i > 0 && this.queue[i - 1]!.weight < weight) i--;
      this.queue.splice(i, 0, { job, weight, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.workers.length < this.threads - 1 && this.queue.length > this.workers.length + 1) this.spawn();
    while (this.queue.length > 0) {
      this.options.signal?.throwIfAborted();
      if (!this.localBusy) {
        this.runLocally(this.queue.shift()!);
        continue;
      }
      const worker = this.freeWorker();
      if (!worker) return;
      const task = this.queue.shift()!;
      const id = this.nextId++;
      this.running.set(id, { ...task, worker });
      this.held.set(worker, this.held.get(worker)! + 1);
      worker.postMessage({ id, job: task.job });
    }
  }

  /**
   * A worker to post the next job to: one with none, else — while the queue holds a job for
   * every thread and more — one with a single job, which it starts as soon as that one ends
   * instead of waiting for this thread to see the result and post another (this thread runs
   * kernels of its own meanwhile). Near the end each worker holds one, so none waits behind
   * another's last job.
   */
  private freeWorker(): Worker | undefined {
    const most = this.queue.length >= this.threads ? 2 : 1;
    let best: Worker | undefined;
    for (const [worker, jobs] of this.held) if (jobs < most && (best === undefined || jobs < this.held.get(best)!)) best = worker;
    return best;
  }

  private runLocally(task: Pending): void {
    this.localBusy = true;
    // Yield first so that queued submissions and worker messages are seen between jobs.
    setImmediate(() => {
      this.local
        .execute(task.job)
        .then(
          (result) => task.resolve(result), // the local engine reports progress per chunk itself
          (err) => task.reject(err),
        )
        .finally(() => {
          this.localBusy = false;
          try {
            this.dispatch();
          } catch (err) {
            this.failAll(err);
          }
        });
    });
  }

  private spawn(): Worker {
    // A worker the command line started ahead (worker-start.ts), else a new one.
    const { worker, ready } = takeWorker({ chunkElements: this.options.chunkElements, readsInFlight: this.options.readsInFlight });
    // How its engine reads: before any job (messages arrive in order; jobs are posted once it is ready).
    worker.postMessage({ reads: this.options.reads });
    worker.on('message', (message: { id: number; result?: unknown; error?: { diffai: boolean; file?: string; message: string; stack?: string } }) => {
      // Counted off first: a job whose task failAll dropped has ended all the same.
      this.held.set(worker, Math.max(0, (this.held.get(worker) ?? 1) - 1));
      const task = this.running.get(message.id);
      if (!task) return;
      this.running.delete(message.id);
      if (message.error) {
        const e = message.error;
        task.reject(e.diffai ? new DiffaiError(e.file, e.message) : Object.assign(new Error(e.message), { stack: e.stack }));
      } else {
        this.options.onBytes?.(task.weight);
        task.resolve(message.result!);
      }
      try {
        this.dispatch();
      } catch (err) {
        this.failAll(err);
      }
    });
    worker.on('error', (err) => this.failAll(err));
    // A worker is idle once it has booted and has the kernels; until then the queue waits for the others.
    void ready.then(() => {
      if (this.closed) return;
      this.held.set(worker, 0);
      try {
        this.dispatch();
      } catch (err) {
        this.failAll(err);
      }
    });
    this.workers.push(worker);
    return worker;
  }

  private failAll(err: unknown): void {
    for (const task of this.running.values()) task.reject(err);
    for (const task of this.queue) task.reject(err);
    this.running.clear();
    this.queue = [];
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new Error('worker pool closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
    this.held.clear();
    this.local.close();
  }
}
