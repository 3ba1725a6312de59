import { ownEntry } from '@sched/core';
import type { FleetSnapshot, RoutableJob, WorkerView } from './types.js';

/**
 * This job's expected service time on `worker`. A sized job uses the fleet's
 * per-token model, since an observed mean over past sizes says nothing about
 * this one; an unsized job prefers the worker's observed mean (it captures a
 * slow or fast individual machine). With neither, every worker counts 1 ms,
 * so delay ranks by depth per slot.
 */
export function expectedServiceMs(job: RoutableJob, worker: WorkerView, snapshot: FleetSnapshot): number {
  const observed = ownEntry(worker.serviceMs, job.model);
  if (job.size === undefined && observed !== undefined && observed > 0) return observed;
  return snapshot.expectedServiceMs?.(job, worker.class) ?? observed ?? 1;
}

/**
 * Shortest-expected-delay score: queued work ÷ slots + this job's service time there. Under fair
 * sharing the job waits for no more than the work ahead of its tag (`fairWaitMs`) and a slot.
 */
export function expectedDelayMs(job: RoutableJob, worker: WorkerView, snapshot: FleetSnapshot): number {
  const service = expectedServiceMs(job, worker, snapshot);
  const queued = worker.queuedWorkMs ?? worker.depth * service;
  const wait = queued / worker.slots;
  const fairWait = snapshot.fairWaitMs?.(job, worker);
  if (fairWait === undefined) return wait + service;
  return Math.min(wait, fairWait + (worker.depth < worker.slots ? 0 : service / worker.slots)) + service;
}
