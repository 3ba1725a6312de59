import type { JobError } from './errors.js';
import type { JobRequest, Priority } from './job-request.js';

export const JOB_STATUSES = ['queued', 'dispatched', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** The data a job carries through ingress and its worker queue. */
export interface JobPayload extends Omit<JobRequest, 'priority'> {
  priority: Priority;
  /** Submission time, epoch ms. */
  createdAt: number;
  /** Set by the dispatcher when it adds the job to a worker queue. */
  dispatchedAt?: number;
}

/** A worker's BullMQ return value. */
export interface JobResult {
  model: string;
  worker: string;
  class: string;
  output: unknown;
}

export interface JobTimings {
  createdAt: string;
  dispatchedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  queueMs?: number;
  serviceMs?: number;
  totalMs?: number;
}

export interface JobView {
  id: string;
  status: JobStatus;
  model: string;
  priority: Priority;
  worker?: { id: string; class: string };
  result?: JobResult;
  error?: JobError;
  attempts: number;
  timings: JobTimings;
  metadata?: JobRequest['metadata'];
}

export interface JobAccepted {
  id: string;
  status: 'queued';
  model: string;
  createdAt: string;
}

/**
 * One message on the status channel (`keys.statusChannel`) per status change.
 * `worker` is set once the job has a route; `retry` marks a failed attempt put
 * back in its worker queue.
 */
export interface StatusMessage {
  id: string;
  status: JobStatus;
  worker?: string;
  retry?: boolean;
  at: number;
  /** On `completed`/`failed` from a worker: submission to finish, ms (feeds the fleet page's p99). */
  totalMs?: number;
}
