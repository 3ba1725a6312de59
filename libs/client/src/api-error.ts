import type { ProblemDetails, SchedErrorCode } from '@sched/core';

/** Failures that happen on the client's side of the wire, with no problem document from the API. */
export type ClientErrorCode =
  /** One HTTP request took longer than `timeoutMs`. */
  | 'request_timeout'
  /** `wait()` reached its own overall timeout before the job was terminal. */
  | 'wait_timeout'
  /** The connection failed (refused, reset, DNS). */
  | 'network_error'
  /** The API answered with a body the client cannot read (not JSON, not a problem document). */
  | 'invalid_response';

export type ApiErrorCode = SchedErrorCode | ClientErrorCode;

export interface ApiErrorContext {
  /** The HTTP status, when the API answered. */
  readonly status?: number;
  readonly problem?: ProblemDetails;
  readonly retryAfterS?: number;
  readonly method?: string;
  readonly path?: string;
  readonly cause?: unknown;
}

/**
 * Every failure the client reports: an error answer of the API (with its RFC 9457
 * problem details) or a client-side failure, told apart by `code`.
 */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  /** HTTP status of the answer; undefined when there was none (timeouts, network errors). */
  readonly status: number | undefined;
  readonly problem: ProblemDetails | undefined;
  /** Seconds to wait before retrying, from `Retry-After` (429/503). */
  readonly retryAfterS: number | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;

  constructor(code: ApiErrorCode, message: string, context: ApiErrorContext = {}) {
    super(message, { cause: context.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = context.status;
    this.problem = context.problem;
    this.retryAfterS = context.retryAfterS;
    this.method = context.method;
    this.path = context.path;
  }
}

/** Reads `Retry-After` as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

function isProblemDetails(value: unknown): value is ProblemDetails {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate.code === 'string' && typeof candidate.status === 'number' && typeof candidate.title === 'string';
}

/** Builds the error for a non-2xx answer from its status, body text and `Retry-After`. */
export function errorFromResponse(
  request: { method: string; path: string },
  status: number,
  bodyText: string,
  retryAfter: string | undefined,
): ApiError {
  const retryAfterS = parseRetryAfter(retryAfter);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    parsed = undefined;
  }
  const context = { status, retryAfterS, method: request.method, path: request.path };
  if (isProblemDetails(parsed)) {
    const detail = parsed.detail === '' ? parsed.title : parsed.detail;
    return new ApiError(parsed.code, `${request.method} ${request.path}: ${status} ${detail}`, { ...context, problem: parsed });
  }
  const excerpt = bodyText.slice(0, 200).replace(/\s+/g, ' ');
  return new ApiError('invalid_response', `${request.method} ${request.path}: ${status} without problem details: ${excerpt}`, context);
}
