import { isTerminal, type JobAccepted, type JobBatchResult, type JobView, type JobWaitResult, type ProblemDetails } from '@sched/core';

/** One job of a batch that was submitted and waited on. */
export type BatchJobOutcome =
  /**
   * Accepted: its last view (`job.status` says whether it ended), or the acceptance itself when it
   * was never read again (the wait ran out before, or the job expired).
   */
  | { ok: true; job: JobView | JobAccepted }
  /** Refused: the status and problem `POST /v1/jobs` would have answered for it alone. */
  | { ok: false; status: number; problem: ProblemDetails };

export interface BatchWaitResult {
  /** Every accepted job ended. */
  done: boolean;
  /** One per request, in the order sent. */
  jobs: BatchJobOutcome[];
}

/** The batch's answer with the views a later wait brought. */
export function batchOutcomes(submitted: JobBatchResult, waited: JobWaitResult | undefined): BatchWaitResult {
  const later = new Map((waited?.jobs ?? []).map((view) => [view.id, view]));
  const jobs = submitted.results.map((item): BatchJobOutcome => ('problem' in item ? { ok: false, status: item.status, problem: item.problem } : { ok: true, job: later.get(item.job.id) ?? item.job }));
  const done = jobs.every((outcome) => !outcome.ok || isTerminal(outcome.job.status));
  return { done, jobs };
}
