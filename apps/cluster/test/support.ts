import { afterAll, beforeAll, expect } from 'vitest';
import { parseCatalog, type Catalog, type JobView } from '@sched/core';
import { RedisServer, testConfig } from '@sched/testkit';
import { startLocalCluster, type LocalCluster } from '../src/index.js';

export async function submitJob(baseUrl: string, body: unknown): Promise<string> {
  const res = await fetch(`${baseUrl}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

export async function readJob(baseUrl: string, id: string, waitS = 0): Promise<JobView> {
  const res = await fetch(`${baseUrl}/v1/jobs/${id}${waitS > 0 ? `?wait=${waitS}` : ''}`);
  expect(res.status).toBe(200);
  return (await res.json()) as JobView;
}

/** Polls until the job reaches `status` (or fails the test after `timeoutMs`). */
export async function until(baseUrl: string, id: string, status: JobView['status'], timeoutMs = 10_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await readJob(baseUrl, id);
    if (view.status === status) return view;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${view.status}, not ${status}, after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A small fast fleet with prices: one gpu (2 slots) and one cpu, for the metrics tests. */
export const PRICED_FLEET = parseCatalog({
  models: { default: { gpu: { p50Ms: 5, p99Ms: 10 }, cpu: { p50Ms: 20, p99Ms: 40 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 2, costPerHour: 2 },
    { id: 'cpu-0', class: 'cpu', slots: 1, costPerHour: 0.2 },
  ],
});

/**
 * A local cluster on its own redis-server for one test file: started before its tests, stopped
 * after. Read `ctx.cluster` inside tests (it exists once `beforeAll` ran).
 */
export function useCluster(fleet: Catalog, env: Record<string, string> = {}): { readonly cluster: LocalCluster; readonly redisUrl: string } {
  let redis: RedisServer | undefined;
  let cluster: LocalCluster | undefined;
  beforeAll(async () => {
    redis = await RedisServer.start({ appendOnly: false });
    cluster = await startLocalCluster(testConfig(redis.url, env), { fleet });
  });
  afterAll(async () => {
    await cluster?.close();
    await redis?.destroy();
  });
  return {
    get cluster(): LocalCluster {
      if (cluster === undefined) throw new Error('the cluster starts in beforeAll');
      return cluster;
    },
    get redisUrl(): string {
      if (redis === undefined) throw new Error('redis starts in beforeAll');
      return redis.url;
    },
  };
}
