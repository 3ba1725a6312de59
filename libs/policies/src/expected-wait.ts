import { expectedServiceMs } from './expected-delay.js';
import type { FleetSnapshot, RoutableJob, WorkerView } from './types.js';

/**
 * Jobs that wait for a worker outside the worker queues: held by a late-binding dispatcher (their
 * models known) and waiting in ingress (not yet read, so their models are not).
 */
export interface Backlog {
  readonly heldByModel: ReadonlyMap<string, number>;
  readonly ingressWaiting: number;
}

export const NO_BACKLOG: Backlog = Object.freeze({ heldByModel: new Map<string, number>(), ingressWaiting: 0 });

/**
 * How long a job of each model submitted now should wait before it starts, in ms (null when no
 * live worker serves the model: such a job is parked, not queued). A fluid estimate, cheap enough
 * to run at every fleet read:
 *
 * - the least wait among the workers that serve the model (where `sed` would put it): 0 with a
 *   free slot, else its queued work per slot less half a job (its running jobs are half done, on
 *   average), plus
 * - the work of the backlog (each held job at its model's mean service time over the workers that
 *   serve it, each ingress job at the mean over models) spread over every slot that serves the model.
 *
 * `perJobMs` lets a reader between two estimates add the jobs it admitted since the last one.
 * The backlog counts every model's jobs against this model's slots, so on a fleet where a model is
 * served by few workers it over-estimates: an admission guard built on it refuses early, never late.
 */
/** A model's expected wait, and how much each further job of it adds (its mean service time over its slots). */
export interface ExpectedWait {
  readonly waitMs: number;
  readonly perJobMs: number;
}

export function expectedWaits(models: readonly string[], snapshot: Pick<FleetSnapshot, 'eligible' | 'expectedServiceMs'>, backlog: Backlog = NO_BACKLOG): Map<string, ExpectedWait | null> {
  const meanService = new Map<string, number>();
  for (const model of models) {
    const workers = snapshot.eligible(model);
    if (workers.length === 0) continue;
    const job: RoutableJob = { model, priority: 'normal' };
    meanService.set(model, workers.reduce((sum, w) => sum + expectedServiceMs(job, w, snapshot), 0) / workers.length);
  }
  const served = [...meanService.values()];
  const typical = served.length === 0 ? 0 : served.reduce((a, b) => a + b, 0) / served.length;
  let backlogMs = backlog.ingressWaiting * typical;
  for (const [model, held] of backlog.heldByModel) backlogMs += held * (meanService.get(model) ?? typical);

  const waits = new Map<string, ExpectedWait | null>();
  for (const model of models) {
    const workers = snapshot.eligible(model);
    if (workers.length === 0) {
      waits.set(model, null);
      continue;
    }
    let best = Infinity;
    let slots = 0;
    for (const worker of workers) {
      slots += worker.slots;
      best = Math.min(best, waitOn(worker, meanService.get(model) ?? 1));
    }
    waits.set(model, { waitMs: best + (slots > 0 ? backlogMs / slots : 0), perJobMs: slots > 0 ? (meanService.get(model) ?? 0) / slots : 0 });
  }
  return waits;
}

/** A job's wait on `worker` if sent now: its queued work per slot, less the half done of its running jobs. */
function waitOn(worker: WorkerView, serviceMs: number): number {
  if (worker.depth < worker.slots) return 0;
  const queued = worker.queuedWorkMs ?? worker.depth * serviceMs;
  return Math.max(0, queued / worker.slots - queued / worker.depth / 2);
}
