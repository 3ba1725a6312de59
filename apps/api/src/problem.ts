import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { SchedError, problemDetails, toSchedError } from '@sched/core';
import type { Logger } from '@sched/runtime';

export function sendProblem(res: Response, error: SchedError, instance?: string): void {
  if (error.retryAfterS !== undefined) res.setHeader('Retry-After', String(error.retryAfterS));
  if (error.jobId !== undefined) res.setHeader('Location', `/v1/jobs/${error.jobId}`);
  res.status(error.status).type('application/problem+json').send(JSON.stringify(problemDetails(error, instance)));
}

/** body-parser reports its failures with a `type`; each maps to one of our codes. */
function fromBodyParser(error: unknown): SchedError | null {
  if (!(error instanceof Error) || !('type' in error)) return null;
  switch (error.type) {
    case 'entity.parse.failed':
      return new SchedError('invalid_json', `request body is not valid JSON: ${error.message}`);
    case 'entity.too.large':
      return new SchedError('payload_too_large', 'request body exceeds the size limit');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new SchedError('unsupported_media_type', error.message);
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new SchedError('invalid_json', error.message);
    default:
      return null;
  }
}

/** zlib's and brotli's decoding errors (`Z_DATA_ERROR`, `ERR__ERROR_FORMAT_PADDING_1`, …) carry a numeric errno. */
function isDecompressionError(error: Error): boolean {
  const { errno, code } = error as Error & { errno?: unknown; code?: unknown };
  return typeof errno === 'number' && typeof code === 'string' && /^(Z_|ERR_)/.test(code);
}

/**
 * Client faults the HTTP stack reports as a 4xx of its own (http-errors' `status`): a body that
 * does not decode under its Content-Encoding (body-parser), a path parameter that is not valid
 * percent-encoding (Express's router, a URIError). Anything else of that kind is a malformed request.
 */
function fromHttpStack(error: unknown, req: Request | undefined): SchedError | null {
  if (!(error instanceof Error) || !('status' in error)) return null;
  const status = error.status;
  if (typeof status !== 'number' || status < 400 || status > 499) return null;
  if (error instanceof URIError) return new SchedError('malformed_request', `the path is not valid percent-encoding (${error.message})`);
  if (isDecompressionError(error)) {
    const encoding = req?.get('content-encoding') ?? 'its Content-Encoding';
    return new SchedError('invalid_json', `request body does not decode as ${encoding} (its Content-Encoding): ${error.message}`);
  }
  return new SchedError('malformed_request', error.message);
}

/** Anything thrown on the way to an answer, as the problem the client gets. */
export function toProblem(error: unknown, req?: Request): SchedError {
  if (error instanceof SchedError) return error;
  return fromBodyParser(error) ?? fromHttpStack(error, req) ?? toSchedError(error);
}

export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const sched = toProblem(error, req);
    if (sched.code === 'internal') logger.error({ err: error, path: req.path }, 'unhandled error');
    if (res.headersSent) {
      res.end();
      return;
    }
    sendProblem(res, sched, req.originalUrl);
  };
}

export const routeNotFound: RequestHandler = (req, res) => {
  sendProblem(res, new SchedError('route_not_found', `no route ${req.method} ${req.path}`), req.originalUrl);
};

export function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  const allow = allowed.join(', ');
  return (req, res) => {
    res.setHeader('Allow', allow);
    sendProblem(res, new SchedError('method_not_allowed', `${req.method} is not allowed here; use ${allow}`), req.originalUrl);
  };
}
