import type { Rng } from '@sched/core';
import { candidates, type SamplingOptions } from './candidates.js';
import { expectedDelayMs, expectedServiceMs } from './expected-delay.js';
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
  /**
   * Jobs bound to a worker beyond its room (slots × maxBatch), so its next job already waits in
   * its queue when a slot frees instead of after the completion has reached the dispatcher and
   * the binding has reached the worker (about 5 ms per job live on the benchmark machine, 10 % of
   * a 50 ms gpu's capacity). One job per worker is committed early in exchange.
   * @defaultValue 1
   */
  prefetch?: number;
}

export const DEFAULT_LOOKAHEAD = 64;
export const DEFAULT_PATIENCE = 0.6;
export const DEFAULT_PREFETCH = 1;
/** On a sampled fleet, a round stops scoring a model's jobs after this many in a row keep waiting. */
const SAMPLED_WAITING_STREAK = 8;

/**
 * Jobs a worker may hold bound to it: one per slot, or a batch's worth per
 * slot on a batching worker (so a batch can gather while another runs), plus
 * `prefetch` waiting for the next free slot.
 */
export function bindCapacity(worker: WorkerView, prefetch = 0): number {
  return worker.slots * Math.max(1, worker.maxBatch ?? 1) + prefetch;
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
  /** Held jobs looked at per round (see `LateBindingOptions.lookahead`). */
  readonly lookahead: number;
  private readonly placed = new Map<WorkerView, number>();
  private readonly exhausted = new Set<string>();
  private readonly taken = new Set<number>();
  private readonly waitingStreak = new Map<string, number>();
  private readonly prefetch: number;
  private readonly patience: number;

  constructor(private readonly options: LateBindingOptions = {}) {
    this.lookahead = options.lookahead ?? DEFAULT_LOOKAHEAD;
    this.patience = options.patience ?? DEFAULT_PATIENCE;
    this.prefetch = options.prefetch ?? DEFAULT_PREFETCH;
  }

  /**
   * Decides for up to `lookahead` of the first `count` held jobs (`jobAt(i)`, in
   * order) and calls `bind(i, workerId)` for each that goes to a worker now. A
   * job of a model no live worker serves is left held (the caller parks it).
   * `freed`, the worker whose completion triggered the round, is always a
   * candidate: on a fleet large enough to be sampled, a sample of 2 per class
   * would otherwise miss it and leave its slot idle until a later round.
   */
  round(
    count: number,
    jobAt: (index: number) => RoutableJob,
    snapshot: FleetSnapshot,
    rng: Rng,
    bind: (index: number, workerId: string) => void,
    freed?: WorkerView,
  ): void {
    const placed = this.placed;
    const exhausted = this.exhausted;
    const taken = this.taken;
    const waitingStreak = this.waitingStreak;
    waitingStreak.clear();
    placed.clear();
    exhausted.clear();
    taken.clear();
    let newest = count - 1;
    const limit = Math.min(count, this.lookahead);
    for (let index = 0; index < limit; index++) {
      if (taken.has(index)) continue;
      const job = jobAt(index);
      const model = job.model;
      if (exhausted.has(model)) continue;
      let pool = candidates(model, snapshot, rng, this.options);
      const sampled = pool !== snapshot.eligible(model);
      if (freed !== undefined && !pool.includes(freed) && serves(snapshot, freed, model)) pool = [...pool, freed];
      const choice = this.choose(job, pool, snapshot, rng);
      if (!choice.anyRoom) {
        // No worker that serves this model can take a job now: nothing behind it of that model can
        // either. On a sampled fleet this is a guess (an unsampled worker may have room) that keeps a
        // round's cost bounded; the freed worker is always in the pool, and each arrival samples anew.
        exhausted.add(model);
        continue;
      }
      const { best, busy } = choice;
      if (best === null) continue;
      if (!(best.depth < bindCapacity(best, this.prefetch) && (placed.get(best) ?? 0) === 0)) {
        placed.set(best, (placed.get(best) ?? 0) + choice.bestService);
        // On a sampled fleet each job draws its own few workers, so the line placed ahead hardly
        // builds up on any one of them: after a few jobs kept waiting in a row, the rest of the
        // model's line would mostly repeat the same verdict. Stop there (a round stays O(1)).
        if (sampled) {
          const streak = (waitingStreak.get(model) ?? 0) + 1;
          waitingStreak.set(model, streak);
          if (streak >= SAMPLED_WAITING_STREAK) exhausted.add(model);
        }
        continue;
      }
      waitingStreak.delete(model);
      // A free worker slower than a busy one this job would still finish sooner on: the job that
      // has waited least (the newest held one of this model) takes it, if it would choose it too,
      // and this one keeps its place for the faster worker. For the tail, the time lost on a slow
      // worker is better added to a fresh job than to an old one.
      if (busy !== null && choice.busyDelay < choice.bestService) {
        while (newest > index && (taken.has(newest) || jobAt(newest).model !== model)) newest--;
        if (newest > index && this.choose(jobAt(newest), pool, snapshot, rng).best === best) {
          taken.add(newest);
          bind(newest, best.id);
          placed.set(busy, (placed.get(busy) ?? 0) + choice.busyService);
          continue;
        }
      }
      bind(index, best.id);
    }
  }

  /**
   * The worker `job` should go to, given what is bound and placed: a free slot counts its service
   * time, a busy worker its wait plus service divided by the patience. A job with a deadline is
   * never patient (its soonest finish is the one that can meet it), so neither rule above moves it
   * to a worker that finishes it later.
   */
  private choose(job: RoutableJob, pool: readonly WorkerView[], snapshot: FleetSnapshot, rng: Rng): Choice {
    const patience = job.deadlineMs === undefined ? this.patience : 1;
    const out: Choice = { best: null, bestService: 0, busy: null, busyDelay: Infinity, busyService: 0, anyRoom: false };
    let bestDelay = Infinity;
    let ties = 0;
    for (const worker of pool) {
      const service = expectedServiceMs(job, worker, snapshot);
      if (worker.depth < bindCapacity(worker, this.prefetch)) out.anyRoom = true;
      let delay = service;
      if (worker.depth >= worker.slots) {
        // sed's expected delay, plus the work placed ahead of this job in this round.
        const wait = expectedDelayMs(job, worker, snapshot) + (this.placed.get(worker) ?? 0) / worker.slots;
        if (wait < out.busyDelay) {
          out.busy = worker;
          out.busyDelay = wait;
          out.busyService = service;
        }
        delay = wait / patience;
      }
      if (delay < bestDelay) {
        out.best = worker;
        out.bestService = service;
        bestDelay = delay;
        ties = 1;
      } else if (delay === bestDelay && rng() * ++ties < 1) {
        out.best = worker;
        out.bestService = service;
      }
    }
    return out;
  }
}

interface Choice {
  best: WorkerView | null;
  bestService: number;
  /** The soonest finish on a busy worker. */
  busy: WorkerView | null;
  busyDelay: number;
  busyService: number;
  anyRoom: boolean;
}

/** `worker` is live and serves `model` (it is in the snapshot's eligible list). */
function serves(snapshot: FleetSnapshot, worker: WorkerView, model: string): boolean {
  return snapshot.serves?.(worker, model) ?? snapshot.eligible(model).includes(worker);
}
