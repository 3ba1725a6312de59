import type { Rng } from '@sched/core';
import { leastBy } from './least-by.js';
import type { Policy, WorkerView } from './types.js';

/** Least depth per slot; ties broken at random so equal workers share the load. */
export function leastLoaded(workers: readonly WorkerView[], rng: Rng): WorkerView | null {
  return leastBy(workers, (worker) => worker.depth / worker.slots, rng);
}

/** Join the shortest queue: least depth per slot. */
export const jsq: Policy = (job, snapshot, rng) => leastLoaded(snapshot.eligible(job.model), rng)?.id ?? null;
