import { afterEach, describe, expect, it } from 'vitest';
import { parseCatalog } from '@sched/core';
import { RedisServer, testConfig } from '@sched/testkit';
import { startLocalCluster, type LocalCluster } from '../src/index.js';
import { readJob, submitJob, until } from './support.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 150, p99Ms: 150 }, cpu: { p50Ms: 900, p99Ms: 900 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 1, costPerHour: 2 },
    { id: 'cpu-0', class: 'cpu', slots: 1, costPerHour: 0.2 },
  ],
});

let redis: RedisServer | undefined;
let cluster: LocalCluster | undefined;

async function start(env: Record<string, string>): Promise<LocalCluster> {
  redis = await RedisServer.start({ appendOnly: false });
  cluster = await startLocalCluster(testConfig(redis.url, env), { fleet });
  return cluster;
}
afterEach(async () => {
  await cluster?.close();
  await redis?.destroy();
});

describe('speed-aware routing, live', () => {
  it('sed: a busy gpu still wins over an idle cpu when waiting for it is faster', async () => {
    const c = await start({ SCHED_POLICY: 'sed' });
    const first = await submitJob(c.apiUrl, { model: 'default', input: 1 });
    expect((await until(c.apiUrl, first, 'running')).worker?.id).toBe('gpu-0');
    const second = await submitJob(c.apiUrl, { model: 'default', input: 2 });
    const view = await readJob(c.apiUrl, second, 10);
    expect(view.worker?.id).toBe('gpu-0');
    expect(view.timings.totalMs).toBeLessThan(900);
  });

  it('greedy-gpu on the same fleet sends that job to the idle cpu instead', async () => {
    const c = await start({ SCHED_POLICY: 'greedy-gpu' });
    const first = await submitJob(c.apiUrl, { model: 'default', input: 1 });
    await until(c.apiUrl, first, 'running');
    const view = await readJob(c.apiUrl, await submitJob(c.apiUrl, { model: 'default', input: 2 }), 10);
    expect(view.worker?.id).toBe('cpu-0');
  });

  it('cost: the cheap cpu while it meets the latency target, the gpu when the deadline needs it', async () => {
    const c = await start({ SCHED_POLICY: 'cost', LATENCY_SLO_MS: '2000' });
    const relaxed = await readJob(c.apiUrl, await submitJob(c.apiUrl, { model: 'default', input: 1 }), 10);
    expect(relaxed.worker?.id).toBe('cpu-0');
    const urgent = await readJob(c.apiUrl, await submitJob(c.apiUrl, { model: 'default', input: 2, deadlineMs: 500 }), 10);
    expect(urgent.worker?.id).toBe('gpu-0');
  });
});
