import type { JobError } from './errors.js';
import type { JobRequest, Priority } from './job-request.js';

export const JOB_STATUSES = ['queued', 'dispatched', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}


/**
 * How long a cancel of a job locked in ingress waits for the dispatcher holding it to answer
 * (`cancelled`, or `dispatched`) before the API gives up (409); a dispatcher remembers a request
 * for a job it does not hold yet this long, then forgets it.
 */
export const CANCEL_WAIT_MS = 2000;

/** A deadline can only be missed while the job waits to start (queued or dispatched). */
export function mayMissDeadline(view: Pick<JobView, 'status' | 'deadlineMs'>): boolean {
  return view.deadlineMs !== undefined && (view.status === 'queued' || view.status === 'dispatched');
}

/**
 * What a waiter knows of a job that has not ended, enough to tell when its deadline would pass
 * unannounced (`latestStartAt`; the expiry is derived when read and sends no message).
 */
export interface PendingState extends Pick<JobView, 'status' | 'deadlineMs' | 'model'> {
  /** Submission, epoch ms; an earlier guess (taken before the add) only makes a waiter read sooner. */
  createdAt: number;
  /** The worker it was routed to, when known. */
  worker?: string | undefined;
}

/** The pending state a read view gives. */
export function pendingState(view: JobView): PendingState {
  return { status: view.status, deadlineMs: view.deadlineMs, model: view.model, createdAt: Date.parse(view.timings.createdAt), worker: view.worker?.id };
}

/** The data a job carries through ingress and its worker queue. */
export interface JobPayload extends Omit<JobRequest, 'priority'> {
  priority: Priority;
  /** Submission time, epoch ms. */
  createdAt: number;
  /**
   * The tenant that submitted it (the API key's digest, or `anonymous` when the server has no keys).
   * Jobs submitted before owners were recorded have none and belong to `anonymous` (see deriveOwnedJob).
   */
  owner: string;
  /** The failed job an owner's retry was made from (`POST /v1/jobs/:id/retry`). */
  retryOf?: string;
  /** The owner's fair-sharing weight (API_KEYS_FILE `weight`) when it is not 1: its share of the fleet against other tenants. */
  weight?: number;
  /** Set by the dispatcher when it adds the job to a worker queue. */
  dispatchedAt?: number;
  /**
   * Its fair start tag in its worker queue, set by the dispatcher when fair sharing ranks it there;
   * the worker writes it as the queue's virtual time when it starts the job (`fairVirtualTimeField`).
   */
  fairStart?: number;
  /**
   * Executions started on workers the job was taken back from (a dead or draining worker's queue),
   * so `attempts` counts every execution across re-routes. Absent: none.
   */
  priorAttempts?: number;
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
  /** The job's deadline (ms from submission), when it has one. */
  deadlineMs?: number;
  timings: JobTimings;
  metadata?: JobRequest['metadata'];
  /** Delivery of the job's webhook, when it was submitted with one. */
  webhook?: WebhookView;
  /** The failed job this one retries, when it was made by `POST /v1/jobs/:id/retry`. */
  retryOf?: string;
}

export const WEBHOOK_STATES = ['pending', 'retrying', 'delivered', 'failed'] as const;
/**
 * `pending`: the job is not finished, or its delivery has not been tried yet; `retrying`: at least
 * one attempt failed and another is scheduled; `delivered`: a 2xx came back; `failed`: attempts ran
 * out, the receiver answered 410, or the URL is not allowed.
 */
export type WebhookState = (typeof WEBHOOK_STATES)[number];

export interface WebhookView {
  state: WebhookState;
  attempts: number;
  /** HTTP status of the last attempt (absent when it got no answer). */
  lastStatus?: number;
  /** Why the last attempt failed, when it did. */
  lastError?: string;
  /** When the receiver first answered 2xx. */
  deliveredAt?: string;
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
  /** Executions started so far, on every worker (`executionsStarted`), when the change happened; orders SSE events. */
  attempt?: number;
}

/** Executions of a job started so far, on every worker it was routed to: its earlier workers' (`priorAttempts`) and its current one's (BullMQ `attemptsStarted`). */
export function executionsStarted(payload: Pick<JobPayload, 'priorAttempts'>, attemptsStarted: number): number {
  return (payload.priorAttempts ?? 0) + attemptsStarted;
}

const STATUS_RANK: Readonly<Record<JobStatus, number>> = { queued: 0, dispatched: 1, running: 2, completed: 3, failed: 3, cancelled: 3 };

/**
 * A number that grows with every status change of a job, retries included: with n = executions
 * started, execution n's `running` is 4n−2, a retry's (or the first) `dispatched` is 4n+1, and
 * every terminal status is 4n+3. It is the SSE event id, so `Last-Event-ID` says exactly which
 * changes a reconnecting client has seen.
 */
export function statusVersion(status: JobStatus, attempt: number): number {
  const rank = STATUS_RANK[status];
  if (rank === 0) return 0;
  // Nothing follows a terminal status, so it can always take the number after a retry's
  // `dispatched` (4n+1): a job cancelled, or failed by its deadline, while it waits for
  // execution n + 1 must still outrank the `dispatched` that announced that wait.
  if (rank === 3) return attempt * 4 + 3;
  if (rank === 1) return attempt * 4 + 1;
  return Math.max(0, attempt - 1) * 4 + rank;
}

/**
 * Ingress job options: a dispatch that fails on a passing Redis error is tried again;
 * parking (BullMQ DelayedError) and `no_worker` (UnrecoverableError) do not use attempts.
 */
export const INGRESS_ATTEMPTS = 5;
export const INGRESS_BACKOFF = Object.freeze({ type: 'exponential' as const, delay: 100 });
