import { describe, expect, it } from 'vitest';
import { ERROR_TABLE, SchedError, decodeJobError, encodeJobError, problemDetails, toSchedError } from '../src/index.js';

describe('errors', () => {
  it('maps every code to its status and a stable problem type', () => {
    for (const [code, { status }] of Object.entries(ERROR_TABLE)) {
      const problem = problemDetails(new SchedError(code as keyof typeof ERROR_TABLE));
      expect(problem).toMatchObject({ status, code, type: `urn:sched:problem:${code}` });
    }
  });

  it('turns anything unexpected into a 500 that hides the original message', () => {
    const error = toSchedError(new TypeError('secret internals'));
    expect(error.code).toBe('internal');
    expect(problemDetails(error).detail).not.toContain('secret');
  });

  it('round-trips a job error through BullMQ failedReason', () => {
    const encoded = encodeJobError({ code: 'no_worker', message: 'nobody serves "x": really' });
    expect(decodeJobError(encoded)).toEqual({ code: 'no_worker', message: 'nobody serves "x": really' });
    expect(decodeJobError('boom')).toEqual({ code: 'execution_failed', message: 'boom' });
  });
});
