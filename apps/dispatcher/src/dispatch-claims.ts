import type { JobPayload } from '@sched/core';
import { expectedServiceMs } from '@sched/policies';
import type { DispatcherMetrics } from '@sched/telemetry';
import type { FleetView } from './fleet-view.js';

/** A decision to send a job to a worker, counted in the fleet view before the send is out. */
export interface Claim {
  readonly workerId: string;
  readonly dispatchedAt: number;
}

export interface DispatchClaimsOptions {
  readonly fleet: FleetView;
  readonly metrics: { readonly decisions: Pick<DispatcherMetrics['decisions'], 'inc'> };
  /** The policy's name, a label of the decisions counter. */
  readonly policy: string;
  /** @defaultValue Date.now */
  readonly now?: () => number;
}

/**
 * Counts each dispatch in the fleet view at once (+1 job and its expected work on the worker), so
 * the next decision sees it without waiting for Redis, and in the decisions counter.
 */
export class DispatchClaims {
  private readonly now: () => number;

  constructor(private readonly options: DispatchClaimsOptions) {
    this.now = options.now ?? Date.now;
  }

  claim(jobId: string, payload: JobPayload, workerId: string): Claim {
    const { fleet, metrics, policy } = this.options;
    const worker = fleet.index.find(workerId);
    const dispatchedAt = this.now();
    fleet.onDispatched(jobId, workerId, worker === undefined ? 0 : expectedServiceMs(payload, worker, fleet.index), dispatchedAt, fleet.nextSendSeq());
    metrics.decisions.inc({ policy, class: worker?.class ?? 'unknown', worker: workerId });
    return { workerId, dispatchedAt };
  }

  /** The send failed: the job is not in the worker's queue after all. */
  release(jobId: string): void {
    this.options.fleet.onFinished(jobId, this.now(), false);
  }
}
