import { beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '@sched/core';
import { testConfig } from '@sched/testkit';
import { createApi } from '../src/index.js';
import { useApi } from './use-api.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 50, p99Ms: 50 } } },
  workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }],
});

const ctx = useApi(fleet);
let base = '';
beforeAll(() => {
  base = ctx.cluster.apiUrl;
});

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { path: string; message: string }[];
}

async function expectProblem(res: Response, status: number, code: string): Promise<Problem> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const text = await res.text();
  expect(text).not.toMatch(/\n\s+at |<html|<!DOCTYPE/i);
  const problem = JSON.parse(text) as Problem;
  expect(problem).toMatchObject({ status, code, type: `urn:sched:problem:${code}` });
  expect(problem.title.length).toBeGreaterThan(0);
  return problem;
}

const post = (body: string, contentType = 'application/json'): Promise<Response> =>
  fetch(`${base}/v1/jobs`, { method: 'POST', headers: { 'content-type': contentType }, body });

describe('bad input gets a clear problem+json error', () => {
  it('rejects malformed JSON with 400 invalid_json', async () => {
    await expectProblem(await post('{"model": "default", '), 400, 'invalid_json');
  });

  it('rejects a schema violation with 400 naming the field', async () => {
    const problem = await expectProblem(await post(JSON.stringify({ model: 'default', input: 1, priority: 'urgent' })), 400, 'validation_failed');
    expect(problem.errors).toEqual([{ path: 'priority', message: 'expected one of high, normal, low' }]);
    expect(problem.detail).toContain('priority');
  });

  it('names nested fields: size.inputTokens, webhook.url, deadlineMs', async () => {
    const body = { model: 'default', input: {}, size: { inputTokens: -1, outputTokens: 2 }, webhook: { url: 'ftp://x' }, deadlineMs: 0 };
    const problem = await expectProblem(await post(JSON.stringify(body)), 400, 'validation_failed');
    const paths = problem.errors?.map((e) => e.path).sort();
    expect(paths).toEqual(['deadlineMs', 'size.inputTokens', 'webhook.url']);
  });

  it('rejects unknown fields and a missing input', async () => {
    const problem = await expectProblem(await post(JSON.stringify({ model: 'default', inptu: 1 })), 400, 'validation_failed');
    expect(problem.errors?.map((e) => `${e.path}: ${e.message}`).sort()).toEqual(['inptu: unknown field', 'input: required (any JSON value)']);
  });

  it('rejects an unknown model with 422', async () => {
    await expectProblem(await post(JSON.stringify({ model: 'gpt-9', input: 'x' })), 422, 'unknown_model');
  });

  it('rejects a body over 1 MiB with 413', async () => {
    const big = JSON.stringify({ model: 'default', input: 'x'.repeat(1_048_577) });
    await expectProblem(await post(big), 413, 'payload_too_large');
  });

  it('rejects a non-JSON content type with 415', async () => {
    await expectProblem(await post('model=default', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type');
    await expectProblem(await post('hello', 'text/plain'), 415, 'unsupported_media_type');
  });

  it('answers an unknown job with 404, for ids that are and are not UUIDs', async () => {
    await expectProblem(await fetch(`${base}/v1/jobs/5f0c7a56-6a4c-4d0e-9d5e-2d1a3b4c5d6e`), 404, 'job_not_found');
    await expectProblem(await fetch(`${base}/v1/jobs/meta`), 404, 'job_not_found');
  });

  it('answers an unknown route with 404 and a wrong method with 405 and Allow', async () => {
    await expectProblem(await fetch(`${base}/v2/nothing`), 404, 'route_not_found');
    const res = await fetch(`${base}/v1/jobs`, { method: 'PUT' });
    await expectProblem(res, 405, 'method_not_allowed');
    expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
    await expectProblem(await fetch(`${base}/v1/fleet`, { method: 'DELETE' }), 405, 'method_not_allowed');
  });

  it('rejects a wait outside 0-30 s with 400', async () => {
    await expectProblem(await fetch(`${base}/v1/jobs/5f0c7a56-6a4c-4d0e-9d5e-2d1a3b4c5d6e?wait=31`), 400, 'invalid_query');
    await expectProblem(await fetch(`${base}/v1/jobs/5f0c7a56-6a4c-4d0e-9d5e-2d1a3b4c5d6e?wait=abc`), 400, 'invalid_query');
  });

  it('accepts a full valid request with server-made UUID and Location', async () => {
    const body = {
      model: 'default',
      input: { prompt: 'hi' },
      priority: 'high',
      deadlineMs: 5000,
      size: { inputTokens: 10, outputTokens: 2 },
      webhook: { url: 'https://example.com/hook' },
      metadata: { tenant: 'a', n: 1 },
    };
    const res = await post(JSON.stringify(body));
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { id: string; status: string; model: string; createdAt: string };
    expect(accepted.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(res.headers.get('location')).toBe(`/v1/jobs/${accepted.id}`);
    expect(accepted).toMatchObject({ status: 'queued', model: 'default' });
    const view = (await (await fetch(`${base}/v1/jobs/${accepted.id}`)).json()) as { status: string; priority: string; metadata: unknown };
    expect(view).toMatchObject({ status: 'queued', priority: 'high', metadata: { tenant: 'a', n: 1 } });
  });

  it('serves the model catalog, health and readiness', async () => {
    const models = (await (await fetch(`${base}/v1/models`)).json()) as { models: { name: string; workers: string[] }[] };
    expect(models.models).toEqual([expect.objectContaining({ name: 'default', workers: ['gpu-0'] })]);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });
});

describe('webhooks on a deployment without WEBHOOK_SECRET', () => {
  it('refuses a job with a webhook (422 webhooks_disabled) and still takes jobs without one', async () => {
    const plain = await createApi(testConfig(ctx.redisUrl, { WEBHOOK_SECRET: '' }), { fleet });
    try {
      const at = `http://127.0.0.1:${await plain.listen()}/v1/jobs`;
      const headers = { 'content-type': 'application/json' };
      const refused = await fetch(at, { method: 'POST', headers, body: JSON.stringify({ model: 'default', input: 1, webhook: { url: 'https://example.com/h' } }) });
      expect(refused.status).toBe(422);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(((await refused.json()) as { code: string }).code).toBe('webhooks_disabled');
      expect((await fetch(at, { method: 'POST', headers, body: JSON.stringify({ model: 'default', input: 1 }) })).status).toBe(202);
    } finally {
      await plain.close();
    }
  });
});

describe('sched_jobs_rejected_total', () => {
  it('starts every reason at 0 and counts each refused submission under its code, the door included', async () => {
    const fresh = await createApi(testConfig(ctx.redisUrl), { fleet });
    try {
      const at = `http://127.0.0.1:${await fresh.listen()}`;
      const rejected = async (): Promise<Record<string, number>> => {
        const text = await (await fetch(`${at}/metrics`)).text();
        return Object.fromEntries([...text.matchAll(/^sched_jobs_rejected_total\{reason="(\w+)"[^}]*\} (\d+)/gm)].map((m): [string, number] => [m[1] ?? '', Number(m[2])]));
      };
      expect(Object.values(await rejected()).every((n) => n === 0)).toBe(true);
      expect(Object.keys(await rejected())).toEqual(expect.arrayContaining(['invalid_json', 'validation_failed', 'unknown_model', 'redis_unavailable', 'unauthorized']));
      const send = (body: string, contentType = 'application/json'): Promise<Response> =>
        fetch(`${at}/v1/jobs`, { method: 'POST', headers: { 'content-type': contentType }, body });
      await send('{"model": ');
      await send(JSON.stringify({ model: 'default', input: 1, priority: 'urgent' }));
      await send(JSON.stringify({ model: 'gpt-9', input: 1 }));
      await send('hello', 'text/plain');
      await fetch(`${at}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'has space' }, body: '{}' });
      expect((await send(JSON.stringify({ model: 'default', input: 1 }))).status).toBe(202);
      expect(await rejected()).toMatchObject({ invalid_json: 1, validation_failed: 2, unknown_model: 1, unsupported_media_type: 1, payload_too_large: 0 });
    } finally {
      await fresh.close();
    }
  });
});
