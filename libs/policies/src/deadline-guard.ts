import { expectedDelayMs } from './expected-delay.js';
import { leastExpectedDelay } from './sed.js';
import type { FleetSnapshot, Policy, RoutableJob, WorkerView } from './types.js';

/**
 * `policy`, except that a job with a deadline never goes to a worker whose expected completion
 * (its expected delay there) misses the deadline while another eligible worker can make it; then
 * it goes to the soonest expected completion. When no worker can make it, the policy's choice
 * stands (the worker skips the job at pickup if it is too late by then).
 *
 * Pure: time comes from `now` (the wall clock live, the virtual clock in the simulator), and the
 * deadline counts from the job's `createdAt` (from `now()` when the job has none).
 */
export function withDeadlineGuard(policy: Policy, now: () => number): Policy {
  return (job, snapshot, rng) => {
    const chosen = policy(job, snapshot, rng);
    if (job.deadlineMs === undefined || chosen === null) return chosen;
    const at = now();
    const remainingMs = (job.createdAt ?? at) + job.deadlineMs - at;
    const worker = findWorker(snapshot, chosen, job);
    if (worker === undefined || expectedDelayMs(job, worker, snapshot) <= remainingMs) return chosen;
    // Every eligible worker, not a sample: the guard runs only when the policy's choice misses.
    const soonest = leastExpectedDelay(job, snapshot.eligible(job.model), snapshot, rng);
    return soonest !== null && expectedDelayMs(job, soonest, snapshot) <= remainingMs ? soonest.id : chosen;
  };
}

function findWorker(snapshot: FleetSnapshot, workerId: string, job: RoutableJob): WorkerView | undefined {
  return snapshot.find?.(workerId) ?? snapshot.eligible(job.model).find((worker) => worker.id === workerId);
}
