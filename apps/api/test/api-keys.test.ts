import { beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '@sched/core';
import { useApi } from './use-api.js';

const KEY = 'k-0123456789abcdef';
const fleet = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });

const ctx = useApi(fleet, { env: { API_KEYS: `${KEY},other-key-0123456789` } });
let base: string;
beforeAll(() => {
  base = ctx.cluster.apiUrl;
});

const submit = (headers: Record<string, string>): Promise<Response> =>
  fetch(`${base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model: 'default', input: 1 }) });
const basic = (password: string): string => `Basic ${Buffer.from(`anyone:${password}`).toString('base64')}`;

describe('API keys', () => {
  it('refuses a request without a valid key with 401 problem+json and a Bearer challenge', async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-key-0123456789' }, { authorization: 'Token abc' }];
    for (const headers of attempts) {
      const res = await submit(headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(((await res.json()) as { code: string }).code).toBe('unauthorized');
    }
  });

  it('accepts any configured key as Bearer or as the Basic password', async () => {
    expect((await submit({ authorization: `Bearer ${KEY}` })).status).toBe(202);
    expect((await submit({ authorization: 'Bearer other-key-0123456789' })).status).toBe(202);
    expect((await submit({ authorization: basic(KEY) })).status).toBe(202);
  });

  it('asks browsers for Basic on the pages, and leaves probes and /metrics open', async () => {
    for (const path of ['/', '/admin/queues']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="scheduler"/);
      expect((await fetch(`${base}${path}`, { headers: { authorization: basic(KEY) } })).status).toBe(200);
    }
    for (const path of ['/healthz', '/readyz', '/metrics']) expect((await fetch(`${base}${path}`)).status).toBe(200);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^sched_jobs_rejected_total\{reason="unauthorized",app="api"\} [1-9]/m);
  });
});
