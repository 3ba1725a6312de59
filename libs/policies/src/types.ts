import type { JobSize, Priority, Rng } from '@sched/core';

/** What a policy may know of a job. */
export interface RoutableJob {
  readonly model: string;
  readonly priority: Priority;
  /** The job's latency target: it should finish within this many ms of submission. */
  readonly deadlineMs?: number | undefined;
  readonly size?: JobSize | undefined;
  /** Submission time (epoch ms live, virtual ms in the simulator): the deadline counts from it. */
  readonly createdAt?: number | undefined;
  /** The tenant that sent it (fair sharing waits by tenant: see `FleetSnapshot.fairWaitMs`). */
  readonly owner?: string | undefined;
}

/** One worker as the dispatcher sees it. */
export interface WorkerView {
  readonly id: string;
  readonly class: string;
  readonly slots: number;
  /** Jobs one execution may batch (1, or absent, without batching). */
  readonly maxBatch?: number | undefined;
  /** Jobs waiting in and running from its queue. */
  readonly depth: number;
  /** Observed mean service time per model in ms (from the heartbeat); absent before the first job. */
  readonly serviceMs?: Readonly<Record<string, number>> | undefined;
  /** Price per hour of busy time; absent counts as 0. */
  readonly costPerHour?: number | undefined;
  /** Expected work in its queue in ms (waiting + running); absent means depth × this job's service time. */
  readonly queuedWorkMs?: number | undefined;
}

export interface FleetSnapshot {
  /** Live, non-draining workers that serve `model`; empty when none does. */
  eligible(model: string): readonly WorkerView[];
  /** The same workers partitioned by class, so sampling policies stay O(classes) on a large fleet. */
  eligibleByClass?(model: string): readonly (readonly WorkerView[])[];
  /** Whether `worker` is live, not draining, and serves `model`: O(1) where `eligible(model).includes` is O(n). */
  serves?(worker: WorkerView, model: string): boolean;
  /** The worker with this id, whatever its state: O(1) where a search of `eligible` is O(n). */
  find?(workerId: string): WorkerView | undefined;
  /** The fleet file's expected service time of `job` on a worker of class `cls` (size-aware). */
  expectedServiceMs?(job: RoutableJob, cls: string): number;
  /**
   * With fair sharing between tenants: how long `job` would wait in `worker`'s queue, which serves
   * by fair rank rather than arrival (`FairBand.waitMs`): a tenant within its share passes the
   * backlog of one that is not. Undefined when not known (the queue counts in arrival order).
   */
  fairWaitMs?(job: RoutableJob, worker: WorkerView): number | undefined;
}

/** Pure: no I/O, no clock. Returns a worker id, or null only when no worker is eligible. */
export type Policy = (job: RoutableJob, snapshot: FleetSnapshot, rng: Rng) => string | null;
