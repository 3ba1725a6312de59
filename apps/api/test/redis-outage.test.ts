import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '@sched/core';
import { RedisServer, testConfig } from '@sched/testkit';
import { createApi, type Api } from '../src/index.js';

const fleet = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });

let redis: RedisServer;
let api: Api;
let base: string;

beforeAll(async () => {
  redis = await RedisServer.start();
  api = await createApi(testConfig(redis.url), { fleet });
  base = `http://127.0.0.1:${await api.listen()}`;
});
afterAll(async () => {
  await api?.close();
  await redis?.destroy();
});

const submit = (): Promise<Response> =>
  fetch(`${base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'default', input: 1 }) });

async function timed(request: () => Promise<Response>): Promise<{ res: Response; ms: number }> {
  const started = performance.now();
  const res = await request();
  return { res, ms: performance.now() - started };
}

describe('Redis outage', () => {
  it('answers 503 with Retry-After within 1 s while Redis is down, and recovers without a restart', async () => {
    const before = await submit();
    expect(before.status).toBe(202);
    const { id } = (await before.json()) as { id: string };

    await redis.stop('SIGKILL');
    for (const request of [submit, () => fetch(`${base}/v1/jobs/${id}`), () => fetch(`${base}/v1/jobs/${id}?wait=5`), () => fetch(`${base}/readyz`), () => fetch(`${base}/v1/fleet`)]) {
      const { res, ms } = await timed(request);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(ms).toBeLessThan(1000);
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    await redis.restart();
    const deadline = Date.now() + 5000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await submit()).status;
      if (status === 202) break;
      await sleep(100);
    }
    expect(status).toBe(202);
    // The job accepted before the outage survived the kill -9 (AOF) and is still readable.
    const view = await fetch(`${base}/v1/jobs/${id}`);
    expect(view.status).toBe(200);
  });
});
