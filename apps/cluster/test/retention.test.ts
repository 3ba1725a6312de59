import { describe, expect, it } from 'vitest';
import { parseCatalog } from '@sched/core';
import { readJob, submitJob, useCluster } from './support.js';

const fleet = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });

const ctx = useCluster(fleet, { RESULT_TTL_S: '1' });

describe('retention', () => {
  it('keeps a finished job RESULT_TTL_S, then BullMQ removes it (and its route)', async () => {
    const old = await submitJob(ctx.cluster.apiUrl, { model: 'default', input: 'old' });
    expect((await readJob(ctx.cluster.apiUrl, old, 5)).status).toBe('completed');
    await new Promise((r) => setTimeout(r, 2200));
    // BullMQ applies removeOnComplete's age when later jobs complete.
    const fresh = await submitJob(ctx.cluster.apiUrl, { model: 'default', input: 'fresh' });
    expect((await readJob(ctx.cluster.apiUrl, fresh, 5)).status).toBe('completed');
    const res = await fetch(`${ctx.cluster.apiUrl}/v1/jobs/${old}`);
    expect(res.status).toBe(404);
  });
});
