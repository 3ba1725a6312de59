import type { JobError, JobErrorCode } from './errors.js';

/**
 * Why a job failed, as the job view shows it (`error.code`, `error.message`), and whether another
 * attempt may succeed. Thrown inside the pipeline; `toBullmqError` (runtime) turns it into what
 * BullMQ needs. The constructors below are the only place each failure's wording lives.
 */
export class JobFailure extends Error implements JobError {
  override readonly name = 'JobFailure';

  constructor(
    readonly code: JobErrorCode,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }

  /** No worker can start it in time (checked before dispatch, and again at pickup). */
  static deadlineExceeded(deadlineMs: number, where: 'dispatch' | 'pickup'): JobFailure {
    const why = where === 'dispatch' ? 'no worker can finish it within' : 'picked up too late for';
    return new JobFailure('deadline_exceeded', `${why} its ${deadlineMs} ms deadline; not run`, false);
  }

  /** Parked for NO_WORKER_TIMEOUT_MS with no live worker serving its model. */
  static noWorker(model: string, waitedMs: number): JobFailure {
    return new JobFailure('no_worker', `no live worker serves model "${model}" (waited ${waitedMs} ms)`, false);
  }

  /** The executor failed; retried while attempts are left. */
  static executionFailed(message: string): JobFailure {
    return new JobFailure('execution_failed', message, true);
  }
}
