import { ApiError } from '@sched/client';
import type { JobBatchItem, JobBatchResult, JobRequestInput, JobWaitResult } from '@sched/core';
import { describe, expect, it } from 'vitest';
import { burstSchedule } from '../src/arrival-schedule.js';
import { buildLoadReport } from '../src/load-report.js';
import { runLoad, type LoadTarget } from '../src/load-runner.js';
import { completedView } from './job-views.js';

/** A scheduler double for batches: records each batch's size and send time; jobs of model `bad` are refused. */
function batchTarget(now: () => number, options: { pendingEvery?: number } = {}) {
  const batches: { size: number; at: number }[] = [];
  let next = 0;
  const target: LoadTarget = {
    submit: () => Promise.reject(new Error('single submit not expected')),
    wait: () => Promise.reject(new Error('single wait not expected')),
    submitBatch: (requests: readonly JobRequestInput[]): Promise<JobBatchResult> => {
      batches.push({ size: requests.length, at: now() });
      const results = requests.map((request): JobBatchItem => {
        if (request.model === 'bad') {
          return { status: 422, problem: { type: 'urn:sched:problem:unknown_model', title: 'No such model', status: 422, detail: 'no', code: 'unknown_model' } };
        }
        return { status: 202, job: { id: `job-${next++}`, status: 'queued', model: request.model, createdAt: new Date(0).toISOString() } };
      });
      return Promise.resolve({ accepted: results.filter((r) => 'job' in r).length, refused: results.filter((r) => 'problem' in r).length, results });
    },
    waitMany: (ids: readonly string[]): Promise<JobWaitResult> => {
      const pending = ids.filter((_, i) => options.pendingEvery !== undefined && i % options.pendingEvery === 0);
      const jobs = ids.map((id) => (pending.includes(id) ? { ...completedView(id), status: 'running' as const } : completedView(id)));
      return Promise.resolve({ done: pending.length === 0, jobs, pending, unknown: [] });
    },
  };
  return { target, batches };
}

function virtualClock() {
  let t = 1000;
  return { now: () => t, sleep: (ms: number) => ((t += ms), Promise.resolve()) };
}

describe('runLoad with batchSize', () => {
  it('groups arrivals into batches sent when their last job is due, and counts jobs, not requests', async () => {
    const clock = virtualClock();
    const { target, batches } = batchTarget(clock.now);
    const recorder = await runLoad(
      { schedule: burstSchedule(10, 10), maxOutstanding: 8, timeoutS: 5, batchSize: 4, requestFor: (i) => ({ model: 'default', input: i }) },
      { target, ...clock },
    );
    expect(batches).toEqual([
      { size: 4, at: 1030 },
      { size: 4, at: 1070 },
      { size: 2, at: 1090 },
    ]);
    const report = buildLoadReport('burst', recorder);
    expect(report).toMatchObject({ count: 10, completed: 10, failed: 0 });
  });

  it('records refused items and jobs still pending at the timeout as errors of their own kind', async () => {
    const clock = virtualClock();
    const { target } = batchTarget(clock.now, { pendingEvery: 3 });
    const recorder = await runLoad(
      { schedule: burstSchedule(6, 0), maxOutstanding: 6, timeoutS: 5, batchSize: 6, requestFor: (i) => ({ model: i === 1 ? 'bad' : 'default', input: i }) },
      { target, ...clock },
    );
    const report = buildLoadReport('burst', recorder);
    // Five accepted: ids 0..4; ids 0 and 3 are still running when the wait ends.
    expect(report).toMatchObject({ count: 6, completed: 3, failed: 3 });
    expect(report.errors['http 422 unknown_model']?.count).toBe(1);
    expect(report.errors.wait_timeout?.count).toBe(2);
  });

  it('counts a failed batch request once per job of the batch', async () => {
    const clock = virtualClock();
    const target: LoadTarget = {
      submit: () => Promise.reject(new Error('unused')),
      wait: () => Promise.reject(new Error('unused')),
      submitBatch: () => Promise.reject(new ApiError('redis_unavailable', 'down', { status: 503 })),
      waitMany: () => Promise.reject(new Error('unused')),
    };
    const recorder = await runLoad(
      { schedule: burstSchedule(5, 0), maxOutstanding: 5, timeoutS: 5, batchSize: 5, requestFor: (i) => ({ model: 'default', input: i }) },
      { target, ...clock },
    );
    expect(buildLoadReport('burst', recorder)).toMatchObject({ count: 5, completed: 0, failed: 5, errors: { 'http 503 redis_unavailable': { count: 5 } } });
  });
});
