import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleet, type JobView } from '@sched/core';
import { simulateOutput } from '@sched/exec';
import { RedisServer, testConfig } from '@sched/testkit';
import { startLocalCluster, type LocalCluster } from '../src/index.js';

const fleet = parseFleet({
  models: { default: { gpu: { p50Ms: 50, p99Ms: 50 }, cpu: { p50Ms: 200, p99Ms: 200 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 1 },
    { id: 'cpu-0', class: 'cpu', slots: 1 },
  ],
});

let redis: RedisServer;
let cluster: LocalCluster;

beforeAll(async () => {
  redis = await RedisServer.start();
  cluster = await startLocalCluster(testConfig(redis.url), { fleet });
});
afterAll(async () => {
  await cluster?.close();
  await redis?.destroy();
});

async function submit(body: unknown): Promise<{ id: string }> {
  const res = await fetch(`${cluster.apiUrl}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(202);
  return (await res.json()) as { id: string };
}

describe('submit → dispatch → worker → result', () => {
  it('completes a job with the deterministic output and consistent timings', async () => {
    const input = { text: 'hello', n: 3 };
    const { id } = await submit({ model: 'default', input });
    const res = await fetch(`${cluster.apiUrl}/v1/jobs/${id}?wait=10`);
    expect(res.status).toBe(200);
    const view = (await res.json()) as JobView;
    expect(view.status).toBe('completed');
    expect(view.worker).toEqual({ id: 'gpu-0', class: 'gpu' });
    expect(view.result).toEqual({ model: 'default', worker: 'gpu-0', class: 'gpu', output: simulateOutput('default', input) });
    expect(view.attempts).toBe(1);
    const t = view.timings;
    expect(t.serviceMs).toBeGreaterThanOrEqual(49);
    expect(t.totalMs).toBe((t.queueMs ?? NaN) + (t.serviceMs ?? NaN));
    expect(Date.parse(t.finishedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(t.startedAt ?? ''));
  });
});
