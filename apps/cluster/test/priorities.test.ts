import { describe, expect, it } from 'vitest';
import { parseCatalog } from '@sched/core';
import { untilStatus } from '@sched/testkit';
import { useCluster } from './support.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 100, p99Ms: 100 } }, slow: { gpu: { p50Ms: 2000, p99Ms: 2000 } } },
  workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }],
});

const ctx = useCluster(fleet);

describe('priorities (BullMQ 1 / 2 / 3 on every ingress and worker-queue job)', () => {
  it('starts a high job submitted after 20 low ones on a saturated 1-slot worker next', async () => {
    const { client } = ctx;
    const { id: blocker } = await client.submit({ model: 'slow', input: 'blocker', priority: 'low' });
    await untilStatus(client, blocker, 'running');
    const lows: string[] = [];
    for (let i = 0; i < 20; i++) lows.push((await client.submit({ model: 'default', input: i, priority: 'low' })).id);
    for (const id of lows) await untilStatus(client, id, 'dispatched');
    const { id: high } = await client.submit({ model: 'default', input: 'urgent', priority: 'high' });
    const done = await client.wait(high, { timeoutS: 10 });
    expect(done.status).toBe('completed');
    expect(done.priority).toBe('high');
    // When the high job finished, the blocker had finished and no low job had started.
    const startedBefore = await Promise.all(lows.map(async (id) => (await client.get(id)).timings.startedAt));
    const highStarted = Date.parse(done.timings.startedAt ?? '');
    expect(startedBefore.filter((t) => t !== undefined && Date.parse(t) < highStarted)).toEqual([]);
    expect(Date.parse((await client.get(blocker)).timings.finishedAt ?? '')).toBeLessThanOrEqual(highStarted);
  });
});
