import type { Rng } from '@sched/core';
import type { Policy, WorkerView } from './types.js';

/** Least depth per slot; ties broken at random so equal workers share the load. */
export function leastLoaded(workers: readonly WorkerView[], rng: Rng): WorkerView | null {
  let best: WorkerView | null = null;
  let bestLoad = Infinity;
  let ties = 0;
  for (const worker of workers) {
    const load = worker.depth / worker.slots;
    if (load < bestLoad) {
      best = worker;
      bestLoad = load;
      ties = 1;
    } else if (load === bestLoad && rng() * ++ties < 1) {
      best = worker;
    }
  }
  return best;
}

/** Join the shortest queue: least depth per slot. */
export const jsq: Policy = (job, snapshot, rng) => leastLoaded(snapshot.eligible(job.model), rng)?.id ?? null;
