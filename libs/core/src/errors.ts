/**
 * Every error a client can see, in one table: a stable code, its HTTP status and
 * its RFC 9457 `type`. Anything thrown is normalised into a SchedError by
 * `toSchedError` before it reaches a response.
 */
export const ERROR_TABLE = {
  invalid_json: { status: 400, title: 'Malformed JSON body' },
  validation_failed: { status: 400, title: 'Request does not match the schema' },
  invalid_query: { status: 400, title: 'Invalid query parameter' },
  malformed_request: { status: 400, title: 'Malformed HTTP request' },
  unauthorized: { status: 401, title: 'Missing or invalid API key' },
  forbidden: { status: 403, title: 'Not allowed for this API key' },
  job_not_found: { status: 404, title: 'No such job' },
  route_not_found: { status: 404, title: 'No such route' },
  method_not_allowed: { status: 405, title: 'Method not allowed on this route' },
  request_timeout: { status: 408, title: 'Request not received in time' },
  job_not_cancellable: { status: 409, title: 'Job has finished' },
  job_not_retryable: { status: 409, title: 'Only a failed job can be retried' },
  payload_too_large: { status: 413, title: 'Request body too large' },
  input_too_large: { status: 413, title: 'Job input too large' },
  uri_too_long: { status: 414, title: 'Request URI too long' },
  unsupported_media_type: { status: 415, title: 'Content-Type must be application/json' },
  expectation_failed: { status: 417, title: 'Expectation not supported' },
  unknown_model: { status: 422, title: 'No such model in the catalog' },
  size_limit_exceeded: { status: 422, title: "Job size beyond the model's limits" },
  webhook_url_forbidden: { status: 422, title: 'Webhook URL points to a private, loopback, link-local or metadata address' },
  webhooks_disabled: { status: 422, title: 'Webhooks are not enabled on this deployment' },
  idempotency_mismatch: { status: 422, title: 'Idempotency-Key reused with a different body' },
  idempotency_in_progress: { status: 409, title: 'A request with this Idempotency-Key is still being added' },
  rate_limited: { status: 429, title: 'Too many requests' },
  too_many_in_flight: { status: 429, title: 'Too many unfinished jobs for this API key' },
  overloaded: { status: 429, title: 'Expected wait for this model is over the limit' },
  too_many_watchers: { status: 429, title: 'Too many open long-polls or streams for this API key' },
  headers_too_large: { status: 431, title: 'Request header fields too large' },
  internal: { status: 500, title: 'Internal error' },
  redis_unavailable: { status: 503, title: 'Job store unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type SchedErrorCode = keyof typeof ERROR_TABLE;

export const PROBLEM_TYPE_PREFIX = 'urn:sched:problem:';

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export class SchedError extends Error {
  readonly code: SchedErrorCode;
  readonly status: number;
  readonly fieldErrors: readonly FieldError[];
  /** Seconds a client should wait before retrying (409 in progress/429/503). */
  readonly retryAfterS: number | undefined;
  /**
   * The job a failed submission may still have added (a timed-out add can land after the 503):
   * the problem names it (`jobId`, and a `Location`), so the client can look before it retries.
   */
  readonly jobId: string | undefined;

  constructor(
    code: SchedErrorCode,
    message?: string,
    options: { fieldErrors?: readonly FieldError[]; retryAfterS?: number; jobId?: string; cause?: unknown } = {},
  ) {
    super(message ?? ERROR_TABLE[code].title, { cause: options.cause });
    this.name = 'SchedError';
    this.code = code;
    this.status = ERROR_TABLE[code].status;
    this.fieldErrors = options.fieldErrors ?? [];
    this.retryAfterS = options.retryAfterS;
    this.jobId = options.jobId;
  }

  /** The same error naming the job it may have added (see `jobId`). */
  withJobId(jobId: string): SchedError {
    return new SchedError(this.code, this.message, { fieldErrors: this.fieldErrors, retryAfterS: this.retryAfterS, jobId, cause: this.cause });
  }
}

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: SchedErrorCode;
  instance?: string;
  errors?: readonly FieldError[];
  jobId?: string;
}

/**
 * Errors that mean "Redis cannot take this now", not "this request is wrong": the connection's
 * (closed, refused, reset, timed out) and Redis's own refusals of a healthy request — out of memory
 * under `maxmemory` with `noeviction`, a read-only replica, a server still loading its data, a busy
 * script, a master link down.
 */
const REDIS_CONNECTION_ERROR = /Connection is closed|Stream isn't writeable|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|max retries/i;
const REDIS_OUT_OF_MEMORY = /\bOOM\b.*command not allowed/;
const REDIS_READ_ONLY = /^READONLY\b|You can't write against a read only replica/;
const REDIS_NOT_READY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;

/** Whether an error from a Redis command means the store is unavailable for now (see {@link redisUnavailable}). */
export function isRedisUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { message } = error;
  return REDIS_CONNECTION_ERROR.test(message) || REDIS_OUT_OF_MEMORY.test(message) || REDIS_READ_ONLY.test(message) || REDIS_NOT_READY.test(message);
}

/** Retry-After of a full Redis: memory comes back when jobs expire or an operator acts, not in a second. */
const OUT_OF_MEMORY_RETRY_S = 5;

/**
 * The one 503 a client sees while Redis cannot be reached, a command to it timed out, or it refuses
 * writes (out of memory, read-only replica); the detail says which.
 */
export function redisUnavailable(cause?: unknown): SchedError {
  const message = cause instanceof Error ? cause.message : '';
  if (REDIS_OUT_OF_MEMORY.test(message)) {
    return new SchedError('redis_unavailable', 'the job store (Redis) is out of memory and refuses writes; retry later', { retryAfterS: OUT_OF_MEMORY_RETRY_S, cause });
  }
  if (REDIS_READ_ONLY.test(message)) {
    return new SchedError('redis_unavailable', 'the job store (Redis) is a read-only replica (a failover in progress?); retry shortly', { retryAfterS: 1, cause });
  }
  return new SchedError('redis_unavailable', 'the job store (Redis) is unreachable; retry shortly', { retryAfterS: 1, cause });
}

/** The 404 of a job id that names no job (unknown, expired, or not an id the server makes). */
export function jobNotFound(id: string): SchedError {
  return new SchedError('job_not_found', `no job ${id}`);
}

export function toSchedError(error: unknown): SchedError {
  if (error instanceof SchedError) return error;
  return new SchedError('internal', undefined, { cause: error });
}

export function problemDetails(error: SchedError, instance?: string): ProblemDetails {
  const problem: ProblemDetails = {
    type: PROBLEM_TYPE_PREFIX + error.code,
    title: ERROR_TABLE[error.code].title,
    status: error.status,
    detail: error.message,
    code: error.code,
  };
  if (instance !== undefined) problem.instance = instance;
  if (error.fieldErrors.length > 0) problem.errors = error.fieldErrors;
  if (error.jobId !== undefined) problem.jobId = error.jobId;
  return problem;
}

/** Codes a job's own `error` can carry in the job view. */
export const JOB_ERROR_CODES = [
  'deadline_exceeded',
  'no_worker',
  'worker_lost',
  'execution_failed',
  'timeout',
  'result_too_large',
] as const;
export type JobErrorCode = (typeof JOB_ERROR_CODES)[number];

export interface JobError {
  code: JobErrorCode;
  message: string;
}

/**
 * How a job that ends without a result is stored: a failure (a JobErrorCode), or `cancelled` (a
 * running job stopped at its owner's request: the worker fails it in BullMQ, the view says cancelled).
 */
export type JobEndCode = JobErrorCode | 'cancelled';

const CANCELLED_PREFIX = 'cancelled: ';

/**
 * BullMQ keeps only an error's message as `failedReason`, so a job error is
 * stored as "<code>: <message>" and parsed back when the job is read.
 */
export function encodeJobError(error: { readonly code: JobEndCode; readonly message: string }): string {
  return `${error.code}: ${error.message}`;
}

/** Whether a worker job's `failedReason` records a cancel rather than a failure. */
export function isCancelledReason(failedReason: string | undefined): boolean {
  return failedReason?.startsWith(CANCELLED_PREFIX) === true;
}

export function decodeJobError(failedReason: string): JobError {
  const match = /^([a-z_]+): ([\s\S]*)$/.exec(failedReason);
  const code = match?.[1];
  if (match && code && (JOB_ERROR_CODES as readonly string[]).includes(code)) {
    return { code: code as JobErrorCode, message: match[2] ?? '' };
  }
  return { code: 'execution_failed', message: failedReason };
}
