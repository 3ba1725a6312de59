import { beforeAll, describe, expect, it } from 'vitest';
import { keySpace, parseCatalog, type Config } from '@sched/core';
import { createRedis } from '@sched/runtime';
import { useApi } from './use-api.js';

const KEY_A = 'tenant-a-0123456789';
const KEY_B = 'tenant-b-0123456789';
const fleet = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });

const ctx = useApi(fleet, { env: { API_KEYS: `${KEY_A},${KEY_B}`, IDEMPOTENCY_TTL_S: '60' } });
let config: Config;
let base: string;
beforeAll(() => {
  config = ctx.config;
  base = ctx.cluster.apiUrl;
});

function submit(apiKey: string, idempotencyKey: string, body: unknown): Promise<Response> {
  return fetch(`${base}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, 'idempotency-key': idempotencyKey },
    body: JSON.stringify(body),
  });
}

async function ingressJobs(): Promise<number> {
  const client = createRedis(ctx.redisUrl, 'service');
  const keys = keySpace(config.KEY_PREFIX);
  const count = (await client.zcard(keys.queueKey('ingress', 'prioritized'))) + (await client.llen(keys.queueKey('ingress', 'wait')));
  client.disconnect();
  return count;
}

describe('Idempotency-Key', () => {
  it('same key and same body: the same job, the first answer repeated', async () => {
    const body = { model: 'default', input: { n: 1 } };
    const first = await submit(KEY_A, 'order-1', body);
    const second = await submit(KEY_A, 'order-1', body);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    const a = (await first.json()) as { id: string };
    expect(await second.json()).toEqual(a);
    expect(second.headers.get('location')).toBe(`/v1/jobs/${a.id}`);
    expect(await ingressJobs()).toBe(1);
  });

  it('same key, different body: 422', async () => {
    await submit(KEY_A, 'order-2', { model: 'default', input: 1 });
    const res = await submit(KEY_A, 'order-2', { model: 'default', input: 2 });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { code: string }).code).toBe('idempotency_mismatch');
  });

  it('is scoped per API key: another tenant with the same key gets its own job', async () => {
    const body = { model: 'default', input: 'x' };
    const a = (await (await submit(KEY_A, 'shared', body)).json()) as { id: string };
    const b = (await (await submit(KEY_B, 'shared', body)).json()) as { id: string };
    expect(a.id).not.toBe(b.id);
    expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-/);
  });

  it('keeps the key for IDEMPOTENCY_TTL_S and rejects a malformed one', async () => {
    await submit(KEY_A, 'ttl', { model: 'default', input: 0 });
    const client = createRedis(ctx.redisUrl, 'service');
    const keys = keySpace(config.KEY_PREFIX);
    const found = await client.keys(`${keys.idempotency('*')}`);
    const ttls = await Promise.all(found.map((k) => client.ttl(k)));
    client.disconnect();
    expect(ttls.every((t) => t > 50 && t <= 60)).toBe(true);
    const bad = await submit(KEY_A, 'has space', { model: 'default', input: 0 });
    expect(bad.status).toBe(400);
  });
});
