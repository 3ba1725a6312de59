import { describe, expect, it } from 'vitest';
import { parseCatalog, type JobView } from '@sched/core';
import { readJob, submitJob, until, useCluster } from './support.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 50, p99Ms: 50 } }, slow: { gpu: { p50Ms: 1200, p99Ms: 1200 } }, rare: { tpu: { p50Ms: 5, p99Ms: 5 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 1 },
    { id: 'tpu-0', class: 'tpu', slots: 1 },
  ],
});

const ctx = useCluster(fleet, { WORKER_IDS: 'gpu-0' });

const cancel = (id: string): Promise<Response> => fetch(`${ctx.cluster.apiUrl}/v1/jobs/${id}`, { method: 'DELETE' });

describe('DELETE /v1/jobs/:id', () => {
  it('cancels a queued job, and cancelling it again gives the same 200', async () => {
    const id = await submitJob(ctx.cluster.apiUrl, { model: 'rare', input: 1 });
    expect((await readJob(ctx.cluster.apiUrl, id)).status).toBe('queued');
    const first = await cancel(id);
    expect(first.status).toBe(200);
    const view = (await first.json()) as JobView;
    expect(view).toMatchObject({ id, status: 'cancelled', model: 'rare' });
    const again = await cancel(id);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(view);
    // The long-poll answers at once: cancelled is terminal.
    const started = Date.now();
    expect((await readJob(ctx.cluster.apiUrl, id, 10)).status).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('cancels a job waiting in a worker queue; it never runs', async () => {
    const blocker = await submitJob(ctx.cluster.apiUrl, { model: 'slow', input: 'blocker' });
    await until(ctx.cluster.apiUrl, blocker, 'running');
    const waiting = await submitJob(ctx.cluster.apiUrl, { model: 'default', input: 'never' });
    expect((await until(ctx.cluster.apiUrl, waiting, 'dispatched')).worker?.id).toBe('gpu-0');
    const res = await cancel(waiting);
    expect(res.status).toBe(200);
    expect(((await res.json()) as JobView).status).toBe('cancelled');
    // After the blocker, the worker is idle and the cancelled job stayed cancelled.
    expect((await readJob(ctx.cluster.apiUrl, blocker, 10)).status).toBe('completed');
    await new Promise((r) => setTimeout(r, 200));
    const after = await readJob(ctx.cluster.apiUrl, waiting);
    expect(after.status).toBe('cancelled');
    expect(after.timings.startedAt).toBeUndefined();
    // Finished: 409 (a running job is stopped instead: bounded-jobs.test.ts).
    const finished = await cancel(blocker);
    expect(finished.status).toBe(409);
    expect(finished.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await finished.json()) as { code: string }).code).toBe('job_not_cancellable');
  });

  it('answers an unknown job with 404', async () => {
    expect((await cancel('5f0c7a56-6a4c-4d0e-9d5e-2d1a3b4c5d6e')).status).toBe(404);
  });
});
