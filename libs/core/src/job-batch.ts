import type { ProblemDetails } from './errors.js';
import type { JobAccepted, JobView } from './job-view.js';

/** The most jobs one `POST /v1/jobs/batch` takes, and the most ids one `POST /v1/jobs/wait` waits on. */
export const MAX_BATCH_JOBS = 1000;

/** A batch item added to the queue (or the first answer to its idempotency key, repeated). */
export interface JobBatchAccepted {
  status: 202;
  job: JobAccepted;
}

/** A batch item whose job ended within the batch's `Prefer: wait`. */
export interface JobBatchEnded {
  status: 200;
  job: JobView;
}

/** A batch item refused: the status and problem `POST /v1/jobs` would have answered for it alone. */
export interface JobBatchRefused {
  status: number;
  problem: ProblemDetails;
}

export type JobBatchItem = JobBatchAccepted | JobBatchEnded | JobBatchRefused;

/** The answer to `POST /v1/jobs/batch`: one result per job, in the order sent. */
export interface JobBatchResult {
  /** Items added (or replayed), ended ones included. */
  accepted: number;
  refused: number;
  results: JobBatchItem[];
}

/** The answer to `POST /v1/jobs/wait`. */
export interface JobWaitResult {
  /** True when no listed job is still pending (each one ended or unknown). */
  done: boolean;
  /** The current view of every known job, in the order asked (a repeated id once). */
  jobs: JobView[];
  /** Ids of the jobs that have not ended. */
  pending: string[];
  /** Ids that name no job (never submitted, or expired). */
  unknown: string[];
}

export function isRefused(item: JobBatchItem): item is JobBatchRefused {
  return 'problem' in item;
}
