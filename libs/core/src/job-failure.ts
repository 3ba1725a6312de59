import type { JobEndCode } from './errors.js';

/**
 * Why a job failed, as the job view shows it (`error.code`, `error.message`), and whether another
 * attempt may succeed. Thrown inside the pipeline; `toBullmqError` (runtime) turns it into what
 * BullMQ needs. The constructors below are the only place each failure's wording lives.
 */
export class JobFailure extends Error {
  override readonly name = 'JobFailure';

  constructor(
    readonly code: JobEndCode,
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

  /** It executed longer than MAX_SERVICE_MS: stopped, and not retried (another attempt would take as long). */
  static timeout(maxServiceMs: number): JobFailure {
    return new JobFailure('timeout', `ran longer than ${maxServiceMs} ms (MAX_SERVICE_MS); stopped`, false);
  }

  /** Its result is larger than MAX_RESULT_BYTES: not stored, and not retried. */
  static resultTooLarge(bytes: number, maxBytes: number): JobFailure {
    return new JobFailure('result_too_large', `result is ${bytes} bytes as JSON; at most ${maxBytes} are kept (MAX_RESULT_BYTES)`, false);
  }

  /** Its owner cancelled it while it ran (DELETE /v1/jobs/:id): stopped, never retried; the view says `cancelled`. */
  static cancelled(): JobFailure {
    return new JobFailure('cancelled', 'cancelled by request while running', false);
  }

  /** The executor failed; retried while attempts are left. */
  static executionFailed(message: string): JobFailure {
    return new JobFailure('execution_failed', message, true);
  }
}
