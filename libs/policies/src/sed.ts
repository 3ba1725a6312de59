import type { Rng } from '@sched/core';
import { candidates, type SamplingOptions } from './candidates.js';
import { expectedDelayMs } from './expected-delay.js';
import { leastBy } from './least-by.js';
import type { FleetSnapshot, Policy, RoutableJob, WorkerView } from './types.js';

/** The worker of `workers` with the least expected delay; ties broken at random. */
export function leastExpectedDelay(
  job: RoutableJob,
  workers: readonly WorkerView[],
  snapshot: FleetSnapshot,
  rng: Rng,
): WorkerView | null {
  return leastBy(workers, (worker) => expectedDelayMs(job, worker, snapshot), rng);
}

/**
 * Shortest expected delay. Exact on a small fleet; on a large one it scores a
 * per-class sample (see `candidates`), so its cost does not grow with the fleet.
 */
export function createSed(options: SamplingOptions = {}): Policy {
  return (job, snapshot, rng) => leastExpectedDelay(job, candidates(job.model, snapshot, rng, options), snapshot, rng)?.id ?? null;
}

export const sed: Policy = createSed();
