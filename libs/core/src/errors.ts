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
  job_not_found: { status: 404, title: 'No such job' },
  route_not_found: { status: 404, title: 'No such route' },
  method_not_allowed: { status: 405, title: 'Method not allowed on this route' },
  request_timeout: { status: 408, title: 'Request not received in time' },
  job_not_cancellable: { status: 409, title: 'Job is running or finished' },
  payload_too_large: { status: 413, title: 'Request body too large' },
  uri_too_long: { status: 414, title: 'Request URI too long' },
  unsupported_media_type: { status: 415, title: 'Content-Type must be application/json' },
  expectation_failed: { status: 417, title: 'Expectation not supported' },
  unknown_model: { status: 422, title: 'No such model in the catalog' },
  webhook_url_forbidden: { status: 422, title: 'Webhook URL points to a private, loopback, link-local or metadata address' },
  webhooks_disabled: { status: 422, title: 'Webhooks are not enabled on this deployment' },
  idempotency_mismatch: { status: 422, title: 'Idempotency-Key reused with a different body' },
  rate_limited: { status: 429, title: 'Too many requests' },
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
  /** Seconds a client should wait before retrying (429/503). */
  readonly retryAfterS: number | undefined;

  constructor(
    code: SchedErrorCode,
    message?: string,
    options: { fieldErrors?: readonly FieldError[]; retryAfterS?: number; cause?: unknown } = {},
  ) {
    super(message ?? ERROR_TABLE[code].title, { cause: options.cause });
    this.name = 'SchedError';
    this.code = code;
    this.status = ERROR_TABLE[code].status;
    this.fieldErrors = options.fieldErrors ?? [];
    this.retryAfterS = options.retryAfterS;
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
}

/** The one 503 a client sees while Redis cannot be reached (or a command to it timed out). */
export function redisUnavailable(cause?: unknown): SchedError {
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
  return problem;
}

/** Codes a job's own `error` can carry in the job view. */
export const JOB_ERROR_CODES = [
  'deadline_exceeded',
  'no_worker',
  'worker_lost',
  'execution_failed',
] as const;
export type JobErrorCode = (typeof JOB_ERROR_CODES)[number];

export interface JobError {
  code: JobErrorCode;
  message: string;
}

/**
 * BullMQ keeps only an error's message as `failedReason`, so a job error is
 * stored as "<code>: <message>" and parsed back when the job is read.
 */
export function encodeJobError(error: JobError): string {
  return `${error.code}: ${error.message}`;
}

export function decodeJobError(failedReason: string): JobError {
  const match = /^([a-z_]+): ([\s\S]*)$/.exec(failedReason);
  const code = match?.[1];
  if (match && code && (JOB_ERROR_CODES as readonly string[]).includes(code)) {
    return { code: code as JobErrorCode, message: match[2] ?? '' };
  }
  return { code: 'execution_failed', message: failedReason };
}
