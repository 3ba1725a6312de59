import type { Rng } from '@sched/core';
import { withDeadlineGuard } from './deadline-guard.js';
import { HeldJobs, type HeldJob, type HeldJobsOptions } from './held-jobs.js';
import type { LateBinder } from './late-binding.js';
import type { FleetSnapshot, Policy, WorkerView } from './types.js';

/** What becomes of a held item; the caller applies it (a worker-queue add live, an event in the simulator). */
export interface HeldOutcomes<T> {
  /** Bind `item` to `workerId` now. Apply it to the snapshot (`dispatched`) before returning: the round goes on from it. */
  bind(item: T, workerId: string): void;
  /** No live worker serves its model: the caller parks it (live) or counts it unroutable (simulated). */
  park(item: T): void;
  /** Its latest start has passed: it fails `deadline_exceeded` without running. */
  expire(item: T): void;
}

export interface DispatchLoopOptions<T> extends HeldJobsOptions<T> {
  readonly binder: LateBinder;
  /** The per-job rule for a job bound at once (the queue overflowed, or the caller lets go of everything); guarded by the deadline here. */
  readonly policy: Policy;
  readonly snapshot: FleetSnapshot;
  readonly rng: Rng;
  /** The clock: wall time live, virtual time in the simulator. */
  readonly now: () => number;
  readonly outcomes: HeldOutcomes<T>;
}

/**
 * The late-binding dispatch loop, one for the live dispatcher and the simulator: jobs are held
 * in `HeldJobs` order and bound by `LateBinder` rounds; each round first parks the jobs no worker
 * serves and expires those that can no longer start in time. A round looks at the first
 * `lookahead` held jobs (its window); when it binds some and jobs from further back move into
 * the window, they get a round at once.
 */
export class DispatchLoop<T> {
  readonly held: HeldJobs<T>;
  private readonly binder: LateBinder;
  private readonly perJob: Policy;
  private readonly snapshot: FleetSnapshot;
  private readonly rng: Rng;
  private readonly now: () => number;
  private readonly outcomes: HeldOutcomes<T>;
  private readonly jobOf: (item: T) => HeldJob;
  private readonly boundInRound: number[] = [];
  // Callbacks made once, not per round: the simulator runs millions of rounds.
  private readonly park = (item: T): void => this.outcomes.park(item);
  private readonly expire = (item: T): void => this.outcomes.expire(item);
  private readonly jobAt = (index: number): HeldJob => this.jobOf(this.held.at(index));
  private readonly bindAt = (index: number, workerId: string): void => {
    this.boundInRound.push(index);
    this.outcomes.bind(this.held.at(index), workerId);
  };

  constructor(options: DispatchLoopOptions<T>) {
    this.held = new HeldJobs(options);
    this.binder = options.binder;
    this.perJob = withDeadlineGuard(options.policy, options.now);
    this.snapshot = options.snapshot;
    this.rng = options.rng;
    this.now = options.now;
    this.outcomes = options.outcomes;
    this.jobOf = options.jobOf;
  }

  /** Holds `item` (binding at once the overflow of a full queue), then runs a round; returns how many the round bound. */
  hold(item: T): number {
    const overflow = this.held.add(item);
    if (overflow !== undefined) this.bindNow(overflow);
    return this.round();
  }

  /**
   * One round over the held jobs; returns how many it bound. `freed`: the worker whose completion
   * triggered it, always a candidate (see `LateBinder.round`).
   */
  round(freed?: WorkerView): number {
    const held = this.held;
    if (held.count === 0) return 0;
    held.sweep(this.now(), this.snapshot, this.park, this.expire);
    const lookahead = this.binder.lookahead;
    const bound = this.boundInRound;
    let total = 0;
    let window = Math.min(held.count, lookahead);
    while (window > 0) {
      bound.length = 0;
      this.binder.round(window, this.jobAt, this.snapshot, this.rng, this.bindAt, freed);
      const count = bound.length;
      if (count === 0) break;
      held.removeAt(bound);
      total += count;
      const next = Math.min(held.count, lookahead);
      const refilled = next - (window - count);
      window = next;
      if (refilled <= 0) break;
    }
    return total;
  }

  /** Binds a held item at once with the per-job rule (room or not); parks it when no worker serves it. */
  bindNow(item: T): void {
    const workerId = this.perJob(this.jobOf(item), this.snapshot, this.rng);
    if (workerId === null) this.outcomes.park(item);
    else this.outcomes.bind(item, workerId);
  }

  /** Lets go of `item` (cancelled, its lock lost); false when it was not held. */
  take(item: T): boolean {
    return this.held.remove(item);
  }

  /** Binds every held job now with the per-job rule: on close, so none waits for a lock to lapse. */
  release(): void {
    for (const item of this.held.drain()) this.bindNow(item);
  }
}
