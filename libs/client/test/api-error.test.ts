import { describe, expect, it } from 'vitest';
import { ApiError, errorFromResponse, parseRetryAfter } from '../src/api-error.js';

const request = { method: 'POST', path: '/v1/jobs' };

describe('errorFromResponse', () => {
  it('carries the problem details, status, code and Retry-After of a problem answer', () => {
    const problem = {
      type: 'urn:sched:problem:redis_unavailable',
      title: 'Job store unavailable',
      status: 503,
      detail: 'Redis did not answer within 1000 ms',
      code: 'redis_unavailable',
    };
    const error = errorFromResponse(request, 503, JSON.stringify(problem), '1');
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'redis_unavailable', status: 503, retryAfterS: 1, problem, method: 'POST' });
    expect(error.message).toBe('POST /v1/jobs: 503 Redis did not answer within 1000 ms');
  });

  it('keeps the field errors of a validation problem', () => {
    const problem = {
      type: 'urn:sched:problem:validation_failed',
      title: 'Request does not match the schema',
      status: 400,
      detail: 'priority: expected one of high, normal, low',
      code: 'validation_failed',
      errors: [{ path: 'priority', message: 'expected one of high, normal, low' }],
    };
    const error = errorFromResponse(request, 400, JSON.stringify(problem), undefined);
    expect(error.problem?.errors).toEqual(problem.errors);
    expect(error.retryAfterS).toBeUndefined();
  });

  it('reports an answer without problem details as invalid_response with its status', () => {
    const error = errorFromResponse(request, 502, '<html>Bad Gateway</html>', undefined);
    expect(error).toMatchObject({ code: 'invalid_response', status: 502, problem: undefined });
    expect(error.message).toContain('<html>Bad Gateway</html>');
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('7')).toBe(7);
  });

  it('reads an HTTP date as seconds from now, never negative', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now)).toBe(10);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0);
  });

  it('gives undefined for a missing or unreadable value', () => {
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
