import { describe, expect, it } from 'vitest';
import { latestStartAt, mayMissDeadline, parseCatalog, type JobView, type PendingState, type StatusMessage } from '@sched/core';
import { waitForJobs } from '../src/job-set-wait.js';
import { JobSetWatch } from '../src/status-hub.js';

// No Redis: the waiter's reads go to a stand-in that derives the job's status from the clock, as a
// real read would, and counts them.

const catalog = parseCatalog({
  models: { m: { gpu: { p50Ms: 100, p99Ms: 100 }, cpu: { p50Ms: 600, p99Ms: 600 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 1 },
    { id: 'cpu-0', class: 'cpu', slots: 1 },
  ],
});
const classOf = (worker: string): string | undefined => catalog.workers.find((w) => w.id === worker)?.class;
const expiresAt = (state: PendingState): number | undefined =>
  mayMissDeadline(state) ? latestStartAt(catalog.models, state, state.status === 'dispatched' && state.worker !== undefined ? classOf(state.worker) : undefined) : undefined;

describe('waiting for a job with a deadline', () => {
  it('reads it once, at its latest start on the class of the worker a message routed it to', async () => {
    const createdAt = Date.now();
    const id = 'job-1';
    // Waiting on the cpu: latest start = 1000 − 600 ms after submission (on the gpu it would be 900).
    let route: string | undefined;
    const reads: number[] = [];
    const jobs = {
      expiresAt,
      readMany: (ids: readonly string[]): Promise<(JobView | null)[]> => {
        reads.push(Date.now() - createdAt);
        const state: PendingState = { status: route === undefined ? 'queued' : 'dispatched', deadlineMs: 1000, model: 'm', createdAt, worker: route };
        const failed = (expiresAt(state) ?? Infinity) < Date.now();
        return Promise.resolve(
          ids.map(() => ({
            id,
            status: failed ? 'failed' : state.status,
            model: 'm',
            priority: 'normal',
            attempts: 0,
            deadlineMs: 1000,
            timings: { createdAt: new Date(createdAt).toISOString() },
            ...(route === undefined ? {} : { worker: { id: route, class: 'cpu' } }),
          })),
        );
      },
    };
    const waiters = new Map<string, Set<(message: StatusMessage | null) => void>>();
    const watch = new JobSetWatch([id], waiters);
    setTimeout(() => {
      route = 'cpu-0';
      for (const wake of waiters.get(id) ?? []) wake({ id, status: 'dispatched', worker: 'cpu-0', at: Date.now() });
    }, 50);
    const outcome = await waitForJobs({
      jobs,
      watch,
      ids: [id],
      known: new Map([[id, { status: 'queued', deadlineMs: 1000, model: 'm', createdAt }]]),
      waitS: 5,
      signal: new AbortController().signal,
    });
    watch.close();
    expect(outcome.ended.get(id)?.status).toBe('failed');
    // One read, when the deadline passed on the cpu (400 ms in), not every 100 ms and not at 900 ms.
    expect(reads).toHaveLength(1);
    expect(reads[0]).toBeGreaterThanOrEqual(400);
    expect(reads[0]).toBeLessThan(700);
  });
});
