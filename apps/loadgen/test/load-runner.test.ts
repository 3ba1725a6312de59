import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError } from '@sched/client';
import type { JobAccepted, JobView } from '@sched/core';
import { describe, expect, it } from 'vitest';
import { burstSchedule, type ArrivalSchedule } from '../src/arrival-schedule.js';
import { runLoad, type LoadTarget } from '../src/load-runner.js';
import { completedView } from './job-views.js';

/**
 * The runner's unit tests drive it through the two calls it makes, with a
 * scheduler double that finishes each job after `serviceMs`; the HTTP side is
 * covered against the real API in the end-to-end test.
 */
function timedTarget(serviceMs: number, now: () => number) {
  const submittedAt: number[] = [];
  let inFlight = 0;
  let peakInFlight = 0;
  let next = 0;
  const target: LoadTarget = {
    submit: (): Promise<JobAccepted> => {
      submittedAt.push(now());
      inFlight += 1;
      peakInFlight = Math.max(peakInFlight, inFlight);
      const id = `job-${next++}`;
      return Promise.resolve({ id, status: 'queued', model: 'default', createdAt: new Date(0).toISOString() });
    },
    wait: async (id: string): Promise<JobView> => {
      await sleep(serviceMs);
      inFlight -= 1;
      return completedView(id);
    },
  };
  return { target, submittedAt, peak: () => peakInFlight };
}

/** A clock that only moves when the runner sleeps, so timing assertions are exact. */
function virtualClock() {
  let t = 1000;
  return { now: () => t, sleep: (ms: number) => ((t += ms), Promise.resolve()) };
}

const plan = (schedule: ArrivalSchedule, maxOutstanding: number) => ({
  schedule,
  maxOutstanding,
  timeoutS: 5,
  requestFor: (i: number) => ({ model: 'default', input: { seq: i } }),
});

describe('runLoad', () => {
  it('sends burst jobs exactly spacing-ms apart on its clock', async () => {
    const clock = virtualClock();
    const { target, submittedAt } = timedTarget(0, clock.now);
    const recorder = await runLoad(plan(burstSchedule(5, 80), 30), { target, ...clock });
    expect(submittedAt).toEqual([1000, 1080, 1160, 1240, 1320]);
    expect(recorder.completed).toBe(5);
    expect(recorder.lateStarts).toBe(0);
  });

  it('never has more than max-outstanding jobs in flight, and finishes them all', async () => {
    const now = () => performance.now();
    const { target, peak } = timedTarget(30, now);
    const recorder = await runLoad(plan(burstSchedule(12, 0), 3), { target, now });
    expect(peak()).toBe(3);
    expect(recorder.submitted).toBe(12);
    expect(recorder.completed).toBe(12);
  });

  it('keeps the burst spacing after waiting for a slot, like a client that sleeps between sends', async () => {
    const now = () => performance.now();
    const { target, submittedAt } = timedTarget(60, now);
    await runLoad(plan(burstSchedule(4, 10), 1), { target, now });
    const gaps = submittedAt.slice(1).map((at, i) => at - (submittedAt[i] ?? 0));
    // Each job waits for the previous one (60 ms), then the next is sent at once.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(59);
  });

  it('catches up on an open schedule when it falls behind, sending late jobs at once', async () => {
    const clock = virtualClock();
    const { target, submittedAt } = timedTarget(0, clock.now);
    // The first sleep overshoots by 50 ms; a catch-up schedule does not carry that on.
    let first = true;
    const sleep = (ms: number) => clock.sleep(first ? ((first = false), ms + 50) : ms);
    const recorder = await runLoad(plan({ offsetsMs: [0, 10, 20, 100], onLag: 'catch-up' }, 100), {
      target,
      now: clock.now,
      sleep,
    });
    expect(submittedAt).toEqual([1000, 1060, 1060, 1100]);
    expect(recorder.lateStarts).toBe(2);
    expect(recorder.maxStartLagMs).toBe(50);
  });

  it('times each job from submit to its terminal view and counts its worker and class', async () => {
    const clock = virtualClock();
    const target: LoadTarget = {
      submit: () => Promise.resolve({ id: 'a', status: 'queued', model: 'default', createdAt: '' }),
      wait: async (id) => {
        await clock.sleep(42);
        return completedView(id, 'cpu-1', 'cpu');
      },
    };
    const recorder = await runLoad(plan(burstSchedule(1, 0), 1), { target, ...clock });
    expect(recorder.latencyUs.maxValue).toBe(42_000);
    expect(recorder.byClass.get('cpu')).toBe(1);
    expect(recorder.byWorker.get('cpu-1')).toEqual({ class: 'cpu', jobs: 1 });
  });

  it('counts rejected submissions, failed jobs and timeouts by kind', async () => {
    const clock = virtualClock();
    let n = 0;
    const target: LoadTarget = {
      submit: () => {
        n += 1;
        if (n === 1) {
          return Promise.reject(
            new ApiError('redis_unavailable', 'POST /v1/jobs: 503 Job store unavailable', { status: 503, retryAfterS: 1 }),
          );
        }
        return Promise.resolve({ id: `j${n}`, status: 'queued', model: 'default', createdAt: '' });
      },
      wait: (id) => {
        if (id === 'j2') {
          return Promise.resolve({
            ...completedView(id),
            status: 'failed',
            result: undefined,
            error: { code: 'deadline_exceeded', message: 'could not start within 100 ms' },
          });
        }
        if (id === 'j3') return Promise.reject(new ApiError('wait_timeout', 'job j3 still queued after 5 s'));
        return Promise.resolve(completedView(id));
      },
    };
    const recorder = await runLoad(plan(burstSchedule(4, 1), 4), { target, ...clock });
    expect(recorder.completed).toBe(1);
    expect(recorder.failed).toBe(3);
    expect(Object.fromEntries([...recorder.errors].map(([kind, tally]) => [kind, tally.count]))).toEqual({
      'http 503 redis_unavailable': 1,
      'job failed: deadline_exceeded': 1,
      wait_timeout: 1,
    });
    expect(recorder.errors.get('job failed: deadline_exceeded')?.example).toBe('could not start within 100 ms');
  });

  it('stops sending when aborted, counts the abandoned jobs as aborted and returns', async () => {
    const controller = new AbortController();
    const target: LoadTarget = {
      submit: () => Promise.resolve({ id: 'x', status: 'queued', model: 'default', createdAt: '' }),
      wait: (_id, options) =>
        new Promise((_resolve, reject) => {
          const signal = options?.signal;
          if (signal?.aborted === true) reject(signal.reason as Error);
          signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
        }),
    };
    const run = runLoad(plan(burstSchedule(100, 5), 10), {
      target,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.submitted === 3) controller.abort(new DOMException('interrupted', 'AbortError'));
      },
    });
    const recorder = await run;
    expect(recorder.submitted).toBe(3);
    expect(Object.fromEntries([...recorder.errors].map(([kind, tally]) => [kind, tally.count]))).toEqual({ aborted: 3 });
  });
});
