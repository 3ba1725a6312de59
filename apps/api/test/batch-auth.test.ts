import { describe, expect, it } from 'vitest';
import { parseCatalog, type JobBatchResult } from '@sched/core';
import { useApi } from './use-api.js';

const KEY_A = 'tenant-a-0123456789';
const KEY_B = 'tenant-b-0123456789';
const fleet = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });
const ctx = useApi(fleet, { env: { API_KEYS: `${KEY_A},${KEY_B}` } });

function post(path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(`${ctx.cluster.apiUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

describe('batch routes with API keys', () => {
  it('refuse a request without a valid key as a whole (401), like POST /v1/jobs', async () => {
    for (const path of ['/v1/jobs/batch', '/v1/jobs/wait']) {
      for (const headers of [{}, { authorization: 'Bearer not-a-key-at-all-0000' }] as Record<string, string>[]) {
        const res = await post(path, { jobs: [{ model: 'default', input: 1 }], ids: [] }, headers);
        expect(res.status, path).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="scheduler"');
        expect(((await res.json()) as { code: string }).code).toBe('unauthorized');
      }
    }
  });

  it('scope a batch Idempotency-Key per API key, and let a key wait on its own jobs only', async () => {
    const body = { jobs: [{ model: 'default', input: 1 }] };
    const submit = async (key: string): Promise<string> => {
      const res = await post('/v1/jobs/batch', body, { authorization: `Bearer ${key}`, 'idempotency-key': 'shared' });
      expect(res.status).toBe(200);
      const result = (await res.json()) as JobBatchResult;
      const [first] = result.results;
      if (first === undefined || !('job' in first)) throw new Error('expected an accepted job');
      return first.job.id;
    };
    const a = await submit(KEY_A);
    expect(await submit(KEY_A)).toBe(a);
    expect(await submit(KEY_B)).not.toBe(a);
    const waited = await post('/v1/jobs/wait', { ids: [a], timeoutS: 0 }, { authorization: `Bearer ${KEY_A}` });
    expect(waited.status).toBe(200);
    expect(await waited.json()).toMatchObject({ pending: [a] });
    // Another key's job is as unknown to B as an id no one made.
    const notHers = await post('/v1/jobs/wait', { ids: [a], timeoutS: 0 }, { authorization: `Bearer ${KEY_B}` });
    expect(await notHers.json()).toMatchObject({ done: true, jobs: [], pending: [], unknown: [a] });
  });
});
