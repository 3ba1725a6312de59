import { CANCEL_WAIT_MS, type Catalog, type JobPayload, type Rng } from '@sched/core';
import { DispatchLoop, type FleetSnapshot, type HeldJob, type LateBinder, type Policy, type WorkerView } from '@sched/policies';
import { CancelRequests } from './cancel-requests.js';
import { DecisionTimer } from './decision-timer.js';
import type { Claim } from './dispatch-claims.js';

/** What became of a held job. */
export type HeldOutcome =
  | { readonly kind: 'bound'; readonly claim: Claim }
  /** No live worker serves its model. */
  | { readonly kind: 'park' }
  /** It can no longer start in time for its deadline. */
  | { readonly kind: 'expired' }
  /** The API asked to cancel it. */
  | { readonly kind: 'cancel' }
  /** Its ingress lock lapsed: it is back in ingress for whoever takes it. */
  | { readonly kind: 'lost' };

interface Held {
  readonly id: string;
  readonly payload: JobPayload;
  /** What the held queue orders it by: the payload, with its fair start tag when it has one. */
  readonly job: HeldJob;
  readonly settle: (outcome: HeldOutcome) => void;
}

export interface JobHolderOptions {
  readonly binder: LateBinder;
  /** The per-job rule for jobs bound at once (overflow, close); the deadline guard is added here. */
  readonly policy: Policy;
  readonly snapshot: FleetSnapshot & { find(workerId: string): WorkerView | undefined };
  readonly models: Catalog['models'];
  readonly rng: Rng;
  /** Jobs held at most (below the ingress consumer's concurrency, so jobs of other models are still taken). */
  readonly capacity: number;
  /** Counts a binding in the fleet view, synchronously: the round's next job must see it. */
  readonly claim: (jobId: string, payload: JobPayload, workerId: string) => Claim;
  readonly decisions: DecisionTimer;
  /** @defaultValue Date.now */
  readonly now?: () => number;
  /**
   * How long a cancel request for a job not held is remembered.
   * @defaultValue CANCEL_WAIT_MS
   */
  readonly cancelMemoryMs?: number;
}

/**
 * Late binding, live: the ingress jobs this dispatcher has taken (active in ingress, so a crash
 * loses none) and holds until a worker has room, over the `DispatchLoop` the simulator runs too.
 * `hold` resolves once the job's fate is decided. The holder is the one that decides a cancel of
 * a held job (see `cancel`).
 */
export class JobHolder {
  private readonly loop: DispatchLoop<Held>;
  private readonly byId = new Map<string, Held>();
  private readonly cancels: CancelRequests;
  private readonly now: () => number;
  private releasing = false;

  constructor(private readonly options: JobHolderOptions) {
    this.now = options.now ?? Date.now;
    this.cancels = new CancelRequests(options.cancelMemoryMs ?? CANCEL_WAIT_MS);
    this.loop = new DispatchLoop<Held>({
      jobOf: (held) => held.job,
      models: options.models,
      capacity: options.capacity,
      binder: options.binder,
      policy: options.policy,
      snapshot: options.snapshot,
      rng: options.rng,
      now: this.now,
      outcomes: {
        bind: (held, workerId) => this.settle(held, { kind: 'bound', claim: options.claim(held.id, held.payload, workerId) }),
        park: (held) => this.settle(held, { kind: 'park' }),
        expire: (held) => this.settle(held, { kind: 'expired' }),
      },
    });
  }

  /** Jobs held now. */
  get count(): number {
    return this.loop.held.count;
  }

  /** Jobs held now, by model (for the expected wait the dispatcher publishes). */
  heldByModel(): ReadonlyMap<string, number> {
    return this.loop.held.byModel;
  }

  /** The fair start tag of the first job held at `priority` (see FairShare.holdTag); null when none is held or it has none. */
  headFairStart(priority: JobPayload['priority']): number | null {
    return this.loop.held.headFairStart(priority);
  }

  /** Holds a job until it is bound (or parked, expired, cancelled, lost); `fairStart`: its fair start tag, which orders it. */
  hold(id: string, payload: JobPayload, fairStart?: number): Promise<HeldOutcome> {
    return new Promise((settle) => {
      if (this.cancels.take(id, this.now())) return settle({ kind: 'cancel' });
      // The same job held twice means its lock lapsed and it came back: only the newer hold counts.
      this.take(id, { kind: 'lost' });
      // A job taken back from a worker's queue carries that queue's tag: it orders nothing here.
      const { fairStart: _queueTag, ...untagged } = payload;
      const held: Held = { id, payload, job: fairStart === undefined ? untagged : { ...untagged, fairStart }, settle };
      this.byId.set(id, held);
      if (this.releasing) return this.loop.bindNow(held);
      const started = DecisionTimer.start();
      this.options.decisions.since(started, this.loop.hold(held));
    });
  }

  /** A round: a worker may have room (`freedWorker` finished a job, or the fleet view was refreshed). */
  round(freedWorker?: string): void {
    if (this.count === 0) return;
    const freed = freedWorker === undefined ? undefined : this.options.snapshot.find(freedWorker);
    const started = DecisionTimer.start();
    this.options.decisions.since(started, this.loop.round(freed));
  }

  /**
   * The API asks to cancel `id`. Held here: its hold ends as `cancel` (the caller records it and
   * completes the ingress job). Not held (not yet, or no longer): remembered for a while, so a hold
   * that begins meanwhile ends at once.
   */
  cancel(id: string): void {
    if (!this.take(id, { kind: 'cancel' })) this.cancels.remember(id, this.now());
  }

  /** BullMQ could not renew these jobs' locks: they are back in ingress, no longer ours to bind. */
  lost(ids: readonly string[]): void {
    for (const id of ids) this.take(id, { kind: 'lost' });
  }

  /** On close: binds every held job now, and any job held from now on at once, so none waits for a lock to lapse. */
  release(): void {
    this.releasing = true;
    this.loop.release();
  }

  private take(id: string, outcome: HeldOutcome): boolean {
    const held = this.byId.get(id);
    if (held === undefined || !this.loop.take(held)) return false;
    this.settle(held, outcome);
    return true;
  }

  private settle(held: Held, outcome: HeldOutcome): void {
    if (this.byId.get(held.id) === held) this.byId.delete(held.id);
    held.settle(outcome);
  }
}
