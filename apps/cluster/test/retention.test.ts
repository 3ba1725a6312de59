import { describe, expect, it } from 'vitest';
import { parseCatalog } from '@sched/core';
import { useCluster } from './support.js';

const fleet = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });

const ctx = useCluster(fleet, { RESULT_TTL_S: '1' });

describe('retention', () => {
  it('keeps a finished job RESULT_TTL_S, then BullMQ removes it and it reads as unknown', async () => {
    const { client } = ctx;
    const { id: old } = await client.submit({ model: 'default', input: 'old' });
    expect((await client.wait(old, { timeoutS: 5 })).status).toBe('completed');
    await new Promise((r) => setTimeout(r, 2200));
    // BullMQ applies removeOnComplete's age when later jobs complete.
    const { id: fresh } = await client.submit({ model: 'default', input: 'fresh' });
    expect((await client.wait(fresh, { timeoutS: 5 })).status).toBe('completed');
    await expect(client.get(old)).rejects.toMatchObject({ status: 404, code: 'job_not_found' });
  });
});
