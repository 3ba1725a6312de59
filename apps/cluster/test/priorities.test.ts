import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleet } from '@sched/core';
import { RedisServer, testConfig } from '@sched/testkit';
import { startLocalCluster, type LocalCluster } from '../src/index.js';
import { readJob, submitJob, until } from './support.js';

const fleet = parseFleet({
  models: { default: { gpu: { p50Ms: 100, p99Ms: 100 } }, slow: { gpu: { p50Ms: 2000, p99Ms: 2000 } } },
  workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }],
});

let redis: RedisServer;
let cluster: LocalCluster;

beforeAll(async () => {
  redis = await RedisServer.start({ appendOnly: false });
  cluster = await startLocalCluster(testConfig(redis.url), { fleet });
});
afterAll(async () => {
  await cluster?.close();
  await redis?.destroy();
});

describe('priorities (BullMQ 1 / 2 / 3 on every ingress and worker-queue job)', () => {
  it('starts a high job submitted after 20 low ones on a saturated 1-slot worker next', async () => {
    const blocker = await submitJob(cluster.apiUrl, { model: 'slow', input: 'blocker', priority: 'low' });
    await until(cluster.apiUrl, blocker, 'running');
    const lows: string[] = [];
    for (let i = 0; i < 20; i++) lows.push(await submitJob(cluster.apiUrl, { model: 'default', input: i, priority: 'low' }));
    for (const id of lows) await until(cluster.apiUrl, id, 'dispatched');
    const high = await submitJob(cluster.apiUrl, { model: 'default', input: 'urgent', priority: 'high' });
    const done = await readJob(cluster.apiUrl, high, 10);
    expect(done.status).toBe('completed');
    expect(done.priority).toBe('high');
    // When the high job finished, the blocker had finished and no low job had started.
    const startedBefore = await Promise.all(lows.map(async (id) => (await readJob(cluster.apiUrl, id)).timings.startedAt));
    const highStarted = Date.parse(done.timings.startedAt ?? '');
    expect(startedBefore.filter((t) => t !== undefined && Date.parse(t) < highStarted)).toEqual([]);
    expect(Date.parse((await readJob(cluster.apiUrl, blocker)).timings.finishedAt ?? '')).toBeLessThanOrEqual(highStarted);
  });
});
