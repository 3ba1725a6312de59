import { describe, expect, it } from 'vitest';
import { parseCatalog, type JobView } from '@sched/core';
import { readJob, submitJob, until, useCluster } from './support.js';

// p50 = p99: constant latencies. gpu-0 runs one job at a time; tpu-0 runs one batch of up to 2 at a time.
const fleet = parseCatalog({
  models: {
    quick: { gpu: { p50Ms: 50, p99Ms: 50 } },
    endless: { gpu: { p50Ms: 600_000, p99Ms: 600_000 } },
    batched: { tpu: { p50Ms: 4000, p99Ms: 4000, batchAlpha: 0 } },
  },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 1 },
    { id: 'tpu-0', class: 'tpu', slots: 1, maxBatch: 2, maxQueueDelayMs: 300 },
  ],
});

const cancel = (url: string, id: string): Promise<Response> => fetch(`${url}/v1/jobs/${id}`, { method: 'DELETE' });

/** Busy slots of a worker as its last heartbeat (every 200 ms here) reported them. */
async function busySlots(url: string, worker: string): Promise<number> {
  const { workers } = (await (await fetch(`${url}/v1/fleet`)).json()) as { workers: { id: string; busy: number }[] };
  return workers.find((w) => w.id === worker)?.busy ?? -1;
}

async function untilBusy(url: string, worker: string, busy: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await busySlots(url, worker)) !== busy) {
    if (Date.now() > deadline) throw new Error(`${worker} did not report ${busy} busy slots within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('MAX_SERVICE_MS', () => {
  const ctx = useCluster(fleet, { MAX_SERVICE_MS: '1500' });

  it('stops a job running longer: failed with timeout, not retried, and its slot serves the next job', async () => {
    const url = ctx.cluster.apiUrl;
    const long = await submitJob(url, { model: 'endless', input: 'forever' });
    await until(url, long, 'running');
    const next = await submitJob(url, { model: 'quick', input: 'next' });
    const view = await readJob(url, long, 20);
    expect(view.status).toBe('failed');
    expect(view.error).toEqual({ code: 'timeout', message: 'ran longer than 1500 ms (MAX_SERVICE_MS); stopped' });
    expect(view.attempts).toBe(1);
    expect(view.timings.serviceMs).toBeGreaterThanOrEqual(1400);
    expect(view.timings.serviceMs).toBeLessThan(5000);
    expect((await readJob(url, next, 10)).status).toBe('completed');
    // Not retried: MAX_ATTEMPTS is 3, yet it stays failed after its first execution.
    await new Promise((r) => setTimeout(r, 500));
    expect(await readJob(url, long)).toMatchObject({ status: 'failed', attempts: 1 });
  });
});

describe('DELETE of a running job', () => {
  const ctx = useCluster(fleet);

  it('stops it on its worker: 200 cancelled, not retried, and the slot serves the next job at once', async () => {
    const url = ctx.cluster.apiUrl;
    const long = await submitJob(url, { model: 'endless', input: 'forever' });
    await until(url, long, 'running');
    const next = await submitJob(url, { model: 'quick', input: 'next' });
    await until(url, next, 'dispatched');
    const res = await cancel(url, long);
    expect(res.status).toBe(200);
    const view = (await res.json()) as JobView;
    expect(view).toMatchObject({ id: long, status: 'cancelled', attempts: 1, worker: { id: 'gpu-0' } });
    expect(view.error).toBeUndefined();
    expect(view.result).toBeUndefined();
    expect(view.timings.finishedAt).toBeDefined();
    expect((await readJob(url, next, 10)).status).toBe('completed');
    // Cancelled again: the same 200; never retried.
    await new Promise((r) => setTimeout(r, 500));
    const again = await cancel(url, long);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: 'cancelled', attempts: 1 });
  });

  it('drops a job from its running batch: the other job of the batch completes, the cancelled one has no result', async () => {
    const url = ctx.cluster.apiUrl;
    const [dropped, kept] = [await submitJob(url, { model: 'batched', input: 'a' }), await submitJob(url, { model: 'batched', input: 'b' })];
    await untilBusy(url, 'tpu-0', 1);
    const res = await cancel(url, dropped);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: dropped, status: 'cancelled', worker: { id: 'tpu-0' } });
    const finished = await readJob(url, kept, 15);
    expect(finished.status).toBe('completed');
    expect(finished.result?.worker).toBe('tpu-0');
    const after = await readJob(url, dropped);
    expect(after).toMatchObject({ status: 'cancelled', attempts: 1 });
    expect(after.result).toBeUndefined();
    await untilBusy(url, 'tpu-0', 0);
  });

  it("frees the batch's slot at once when its last job is cancelled: the next batch starts", async () => {
    const url = ctx.cluster.apiUrl;
    const first = await submitJob(url, { model: 'batched', input: 'c' });
    await untilBusy(url, 'tpu-0', 1);
    // Handed to the worker and gathering for the next batch, behind the busy slot.
    const second = await submitJob(url, { model: 'batched', input: 'd' });
    await until(url, second, 'running');
    await new Promise((r) => setTimeout(r, 400));
    const cancelledAt = Date.now();
    expect((await cancel(url, first)).status).toBe(200);
    expect((await readJob(url, second, 15)).status).toBe('completed');
    // Started at once: one execution (4 s) after the cancel; behind the first batch it would end ≈ 3 s later.
    expect(Date.now() - cancelledAt).toBeLessThan(6000);
  });

  it('answers 409 for a job that finished first', async () => {
    const url = ctx.cluster.apiUrl;
    const done = await submitJob(url, { model: 'quick', input: 'done' });
    expect((await readJob(url, done, 10)).status).toBe('completed');
    const res = await cancel(url, done);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { code: string; detail: string }).detail).toMatch(/is completed; a finished job cannot be cancelled/);
  });
});
