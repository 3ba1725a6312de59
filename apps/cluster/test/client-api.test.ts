import { ApiError } from '@sched/client';
import { parseCatalog } from '@sched/core';
import { useTestCluster } from '@sched/testkit/fixtures';
import { describe, expect, it } from 'vitest';
import { startLocalCluster } from '../src/index.js';

// The client's contract against the real API. It lives with the cluster's tests: the client
// package cannot depend on the cluster (the cluster's tests use the client).

const fleet = parseCatalog({
  models: {
    default: { gpu: { p50Ms: 20, p99Ms: 20 }, cpu: { p50Ms: 60, p99Ms: 60 } },
    slow: { gpu: { p50Ms: 1500, p99Ms: 1500 } },
  },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 2 },
    { id: 'cpu-0', class: 'cpu', slots: 1, models: ['default'] },
  ],
});

const ctx = useTestCluster((config) => startLocalCluster(config, { fleet }), { client: { timeoutMs: 5000 } });

describe('client against the real API', () => {
  it('submits a job and waits for its completed view', async () => {
    const { client } = ctx;
    const accepted = await client.submit({ model: 'default', input: { text: 'hi' }, priority: 'high' });
    expect(accepted).toMatchObject({ status: 'queued', model: 'default' });
    const view = await client.wait(accepted.id, { timeoutS: 10 });
    expect(view).toMatchObject({ id: accepted.id, status: 'completed', priority: 'high' });
    expect(view.result?.class).toBe(view.worker?.class);
    expect((await client.get(accepted.id)).status).toBe('completed');
  });

  it('keeps long-polling past one poll until the job is terminal', async () => {
    const { client } = ctx;
    const { id } = await client.submit({ model: 'slow', input: 1 });
    const started = performance.now();
    // Polls of 1 s: the first returns the job still running, the second its result.
    const view = await client.wait(id, { timeoutS: 4, pollS: 1 });
    expect(view.status).toBe('completed');
    expect(performance.now() - started).toBeGreaterThanOrEqual(1400);
  });

  it('throws wait_timeout when its own limit passes first', async () => {
    const { client } = ctx;
    const { id } = await client.submit({ model: 'slow', input: 2 });
    const failure = await client.wait(id, { timeoutS: 1 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ code: 'wait_timeout', status: undefined });
  });

  it('stops waiting when its signal aborts, with the signal reason', async () => {
    const { client } = ctx;
    const { id } = await client.submit({ model: 'slow', input: 3 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('enough')), 100);
    const started = performance.now();
    await expect(client.wait(id, { signal: controller.signal })).rejects.toThrow('enough');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('throws an ApiError with the problem details of a schema violation', async () => {
    const { client } = ctx;
    const failure = await client
      .submit({ model: 'default', input: 1, priority: 'urgent' as 'high' })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    const error = failure as ApiError;
    expect(error).toMatchObject({ code: 'validation_failed', status: 400, method: 'POST', path: '/v1/jobs' });
    expect(error.problem?.errors?.map((e) => e.path)).toContain('priority');
  });

  it('throws unknown_model (422) and job_not_found (404) with their status', async () => {
    const { client } = ctx;
    await expect(client.submit({ model: 'no-such-model', input: 1 })).rejects.toMatchObject({
      code: 'unknown_model',
      status: 422,
    });
    await expect(client.get('0b0e3c1e-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'job_not_found',
      status: 404,
    });
  });

  it('reads the fleet and the model catalog', async () => {
    const { client } = ctx;
    expect(JSON.stringify(await client.fleet())).toContain('gpu-0');
    expect(JSON.stringify(await client.models())).toContain('slow');
  });
});
