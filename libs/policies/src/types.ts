import type { Priority, Rng } from '@sched/core';

/** What a policy may know of a job. */
export interface RoutableJob {
  readonly model: string;
  readonly priority: Priority;
  readonly deadlineMs?: number | undefined;
}

/** One worker as the dispatcher sees it. */
export interface WorkerView {
  readonly id: string;
  readonly class: string;
  readonly slots: number;
  /** Jobs waiting in and running from its queue. */
  readonly depth: number;
}

export interface FleetSnapshot {
  /** Live, non-draining workers that serve `model`; empty when none does. */
  eligible(model: string): readonly WorkerView[];
}

/** Pure: no I/O, no clock. Returns a worker id, or null only when no worker is eligible. */
export type Policy = (job: RoutableJob, snapshot: FleetSnapshot, rng: Rng) => string | null;
