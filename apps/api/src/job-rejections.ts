import type { SchedError, SchedErrorCode } from '@sched/core';
import type { ApiMetrics } from '@sched/telemetry';

/**
 * Every reason a submission is refused: the error codes `POST /v1/jobs` answers (its route lists
 * them) and the `reason` labels of `sched_jobs_rejected_total`.
 */
export const JOB_REJECTION_REASONS = [
  'invalid_json',
  'validation_failed',
  'unauthorized',
  'payload_too_large',
  'input_too_large',
  'unsupported_media_type',
  'unknown_model',
  'size_limit_exceeded',
  'webhooks_disabled',
  'webhook_url_forbidden',
  'idempotency_mismatch',
  'idempotency_in_progress',
  'rate_limited',
  'too_many_in_flight',
  'overloaded',
  'redis_unavailable',
] as const satisfies readonly SchedErrorCode[];

export type JobRejectionReason = (typeof JOB_REJECTION_REASONS)[number];

const isRejectionReason = (code: SchedErrorCode): code is JobRejectionReason => (JOB_REJECTION_REASONS as readonly SchedErrorCode[]).includes(code);

/** `sched_jobs_rejected_total{reason}`: every reason at 0 from the start (a dashboard shows them), then one per refusal. */
export class JobRejections {
  constructor(private readonly counter: Pick<ApiMetrics['jobsRejected'], 'inc'>) {
    for (const reason of JOB_REJECTION_REASONS) counter.inc({ reason }, 0);
  }

  count(reason: JobRejectionReason): void {
    this.counter.inc({ reason });
  }

  /** Counts a problem answered to a submission; one that is not a refusal (`internal`) is not counted. */
  countProblem(error: SchedError): void {
    if (isRejectionReason(error.code)) this.count(error.code);
  }
}
