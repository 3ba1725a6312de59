import type { Rng } from '@sched/core';
import { candidates, type SamplingOptions } from './candidates.js';
import { expectedServiceMs } from './expected-delay.js';
import type { FleetSnapshot, RoutableJob, WorkerView } from './types.js';

export interface LateBindingOptions extends SamplingOptions {
  /**
   * Held jobs looked at per round, in order. A job further back cannot take a
   * free slot before the ones ahead of it have been placed, so this bounds the
   * cost of a round, not the number of jobs held.
   * @defaultValue 64
   */
  lookahead?: number;
  /**
   * A job waits for a busy worker only while its expected finish there is below
   * this fraction of its finish on a worker free now (1: the plain soonest finish).
   * Below 1 the slow class starts absorbing work before the fast one's queue
   * costs as much as the slow service; 0.6 was the best p99 across loads in the
   * simulator (BENCHMARKS.md).
   * @defaultValue 0.6
   */
  patience?: number;
}

export const DEFAULT_LOOKAHEAD = 64;
export const DEFAULT_PATIENCE = 0.6;

/**
 * Jobs a worker may hold bound to it: one per slot, or a batch's worth per
 * slot on a batching worker (so a batch can gather while another runs).
 */
export function bindCapacity(worker: WorkerView): number {
  return worker.slots * Math.max(1, worker.maxBatch ?? 1);
}

/**
 * Late-binding shortest expected delay (`sed-late`).
 *
 * `sed` binds every job to a worker queue on arrival and pays in full for any
 * misjudgement of the queue ahead (service-time jitter, a stale view); a
 * shared FCFS queue binds late but sends the head job to whichever worker
 * frees first, even a slow one when a fast one was about to free. This does
 * both: jobs wait in one central order, and a job is bound only to a worker
 * that has room now (`bindCapacity`), and only when that worker is its
 * soonest expected finish. A round walks the held jobs in order; each is
 * placed on its soonest finish given the jobs placed ahead of it in this
 * round (a worker's expected delay grows by the work virtually placed on it),
 * so a job deep in the line takes a free slow worker once waiting for a fast
 * one behind the jobs ahead of it would be slower: list scheduling on
 * expected finish times.
 *
 * Pure: no I/O, no clock; the caller holds the jobs and calls `round` when a
 * worker may have room (an arrival, a completion, a fresh view) and applies
 * each binding to the snapshot (`dispatched`) before `bind` returns, so the
 * next job of the round sees it.
 */
export class LateBinder {
  private readonly lookahead: number;
  private readonly placed = new Map<WorkerView, number>();
  private readonly exhausted = new Set<string>();
  private readonly taken = new Set<number>();

  constructor(private readonly options: LateBindingOptions = {}) {
    this.lookahead = options.lookahead ?? DEFAULT_LOOKAHEAD;
    this.patience = options.patience ?? DEFAULT_PATIENCE;
  }
  private readonly patience: number;

  /**
   * Decides for up to `lookahead` of the first `count` held jobs (`jobAt(i)`, in
   * order) and calls `bind(i, workerId)` for each that goes to a worker now. A
   * job of a model no live worker serves is left held (the caller parks it).
   * Returns how many jobs it looked at.
   */
  round(
    count: number,
    jobAt: (index: number) => RoutableJob,
    snapshot: FleetSnapshot,
    rng: Rng,
    bind: (index: number, workerId: string) => void,
  ): number {
    const placed = this.placed;
    const exhausted = this.exhausted;
    const taken = this.taken;
    placed.clear();
    exhausted.clear();
    taken.clear();
    let newest = count - 1;
    const limit = Math.min(count, this.lookahead);
    let index = 0;
    for (; index < limit; index++) {
      if (taken.has(index)) continue;
      const job = jobAt(index);
      const model = job.model;
      if (exhausted.has(model)) continue;
      const pool = candidates(model, snapshot, rng, this.options);
      let best: WorkerView | null = null;
      let bestDelay = Infinity;
      let bestService = 0;
      let ties = 0;
      let anyRoom = false;
      // The soonest finish on a busy worker, and the least service time anywhere.
      let busy: WorkerView | null = null;
      let busyDelay = Infinity;
      let busyService = 0;
      let fastest = Infinity;
      for (const worker of pool) {
        const service = expectedServiceMs(job, worker, snapshot);
        if (service < fastest) fastest = service;
        const room = worker.depth < bindCapacity(worker);
        if (room) anyRoom = true;
        // A free slot starts the job now; otherwise it waits for the work bound and placed ahead.
        let delay = service;
        if (worker.depth >= worker.slots) {
          const wait = ((worker.queuedWorkMs ?? worker.depth * service) + (placed.get(worker) ?? 0)) / worker.slots + service;
          if (wait < busyDelay) {
            busy = worker;
            busyDelay = wait;
            busyService = service;
          }
          delay = wait / this.patience;
        }
        if (delay < bestDelay) {
          best = worker;
          bestDelay = delay;
          bestService = service;
          ties = 1;
        } else if (delay === bestDelay && rng() * ++ties < 1) {
          best = worker;
          bestService = service;
        }
      }
      if (!anyRoom) {
        // No worker that serves this model can take a job now: nothing behind it of that model can either.
        exhausted.add(model);
        continue;
      }
      if (best === null) continue;
      if (!(best.depth < bindCapacity(best) && (placed.get(best) ?? 0) === 0)) {
        placed.set(best, (placed.get(best) ?? 0) + bestService);
        continue;
      }
      // A free worker slower than a busy one: the job that has waited least (the newest held one
      // of this model) takes it, and this one keeps its place for the faster worker. For the
      // tail, the time lost on a slow worker is better added to a fresh job than to an old one.
      if (busy !== null && busyDelay < bestService) {
        while (newest > index && (taken.has(newest) || jobAt(newest).model !== model)) newest--;
        if (newest > index) {
          taken.add(newest);
          bind(newest, best.id);
          placed.set(busy, (placed.get(busy) ?? 0) + busyService);
          continue;
        }
      }
      bind(index, best.id);
    }
    return index;
  }
}
