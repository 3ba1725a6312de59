import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleet } from '@sched/core';
import { RedisServer, testConfig } from '@sched/testkit';
import { startLocalCluster, type LocalCluster } from '../src/index.js';
import { readJob, submitJob } from './support.js';

const fleet = parseFleet({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });

let redis: RedisServer;
let cluster: LocalCluster;

beforeAll(async () => {
  redis = await RedisServer.start({ appendOnly: false });
  cluster = await startLocalCluster(testConfig(redis.url, { RESULT_TTL_S: '1' }), { fleet });
});
afterAll(async () => {
  await cluster?.close();
  await redis?.destroy();
});

describe('retention', () => {
  it('keeps a finished job RESULT_TTL_S, then BullMQ removes it (and its route)', async () => {
    const old = await submitJob(cluster.apiUrl, { model: 'default', input: 'old' });
    expect((await readJob(cluster.apiUrl, old, 5)).status).toBe('completed');
    await new Promise((r) => setTimeout(r, 2200));
    // BullMQ applies removeOnComplete's age when later jobs complete.
    const fresh = await submitJob(cluster.apiUrl, { model: 'default', input: 'fresh' });
    expect((await readJob(cluster.apiUrl, fresh, 5)).status).toBe('completed');
    const res = await fetch(`${cluster.apiUrl}/v1/jobs/${old}`);
    expect(res.status).toBe(404);
  });
});
