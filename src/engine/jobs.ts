/**
 * Units of work for an engine (in the main thread or a worker): statistics or comparison
 * of an element range of real-valued tensors. Plain data, so they cross to workers as is.
 */
import type { TensorDescriptor } from '../formats/types.js';
import type { CompareRangeResult, Engine } from './engine.js';
import type { StatsPartial } from './partials.js';

export type Job =
  | { op: 'stats'; desc: TensorDescriptor; first: number; end: number }
  | { op: 'compare'; a: TensorDescriptor; b: TensorDescriptor; epsilon: number; first: number; end: number }
  | { op: 'zeroRows'; desc: TensorDescriptor; rowLength: number }
  | { op: 'grid'; desc: TensorDescriptor; grids: Array<{ origin: number; step: number }> };

export type JobResult = StatsPartial | CompareRangeResult | number[];

export function runJob(engine: Engine, job: Job): Promise<JobResult> {
  switch (job.op) {
    case 'stats': return engine.statsRange(job.desc, job.first, job.end);
    case 'compare': return engine.compareRange(job.a, job.b, job.epsilon, job.first, job.end);
    case 'zeroRows': return engine.zeroRows(job.desc, job.rowLength);
    case 'grid': return engine.gridResiduals(job.desc, job.grids);
  }
}
