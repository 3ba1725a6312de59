import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SchedError, jobIdParamsSchema, jobListQuerySchema, jobNotFound, encodeJobListCursor, loadTenants, type SchedErrorCode } from '@sched/core';
import { createLogger } from '@sched/runtime';
import { defineRoute, type ApiRoute } from '../src/api-route.js';
import { apiKeyCheck } from '../src/api-keys.js';
import { problemHandler } from '../src/problem.js';
import { routeTable } from '../src/route-table.js';

const ok = { 200: { description: 'ok' } };

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** Serves the table (with API_KEYS = `keys`) on a free port; resolves with its base URL. */
async function serve(routes: ApiRoute[], keys: string[] = []): Promise<string> {
  const app = express();
  app.use(routeTable(routes, { keyCheck: apiKeyCheck(loadTenants({ API_KEYS: keys, ADMIN_API_KEYS: [], API_KEYS_FILE: undefined })), maxBodyBytes: 1024 }));
  app.use(problemHandler(createLogger('test', 'silent')));
  const bound = app.listen(0, '127.0.0.1');
  server = bound;
  await new Promise((resolve) => bound.once('listening', resolve));
  return `http://127.0.0.1:${(bound.address() as AddressInfo).port}`;
}

const problemOf = async (res: Response): Promise<{ code: string; errors?: { path: string; message: string }[] }> => {
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return (await res.json()) as { code: string; errors?: { path: string; message: string }[] };
};

describe('routeTable', () => {
  it('hands the handler each part of the request parsed by its schema: numbers, defaults, a decoded cursor', async () => {
    let seen: unknown;
    const base = await serve([
      defineRoute({
        method: 'get',
        path: '/things/:id',
        operationId: 'getThing',
        tag: 'jobs',
        summary: 'A thing',
        access: 'public',
        request: { params: jobIdParamsSchema, query: jobListQuerySchema, headers: z.object({ 'X-Trace': z.string().optional() }) },
        responses: ok,
        errors: ['invalid_query'],
        handle: (input, _req, res) => {
          seen = input;
          res.json({});
        },
      }),
    ]);
    const id = '5f0c7a56-6a4c-4d0e-9d5e-2d1a3b4c5d6e';
    const cursor = encodeJobListCursor({ score: 1700000000000, id });
    expect((await fetch(`${base}/things/${id}?limit=7&cursor=${cursor}`, { headers: { 'x-trace': 'abc' } })).status).toBe(200);
    expect(seen).toEqual({ params: { id }, query: { limit: 7, cursor: { score: 1700000000000, id } }, headers: { 'X-Trace': 'abc' }, body: undefined });
    await fetch(`${base}/things/${id}`);
    expect(seen).toMatchObject({ query: { limit: 20 }, headers: {} });
  });

  it('answers what does not validate before the handler runs: params with notFound, query 400, headers and body 400 naming the field', async () => {
    let calls = 0;
    const problems: SchedErrorCode[] = [];
    const base = await serve([
      defineRoute({
        method: 'post',
        path: '/things/:id',
        operationId: 'postThing',
        tag: 'jobs',
        summary: 'A thing',
        access: 'public',
        request: {
          params: jobIdParamsSchema,
          query: z.strictObject({ n: z.string().optional() }),
          headers: z.object({ 'Idempotency-Key': z.string().max(3, { error: 'expected at most 3 characters' }).optional() }),
          body: z.strictObject({ size: z.int() }),
        },
        responses: ok,
        errors: ['invalid_query', 'invalid_json', 'validation_failed', 'payload_too_large', 'unsupported_media_type', 'job_not_found'],
        notFound: (params) => jobNotFound(String(params.id)),
        onProblem: (error) => problems.push(error.code),
        handle: (_input, _req, res) => {
          calls++;
          res.json({});
        },
      }),
    ]);
    const id = '5f0c7a56-6a4c-4d0e-9d5e-2d1a3b4c5d6e';
    const post = (path: string, body: string, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const notFound = await post('/things/meta', '{"size":1}');
    expect(notFound.status).toBe(404);
    expect(await problemOf(notFound)).toMatchObject({ code: 'job_not_found' });
    const query = await post(`/things/${id}?colour=red`, '{"size":1}');
    expect(query.status).toBe(400);
    expect(await problemOf(query)).toMatchObject({ code: 'invalid_query', errors: [{ path: 'colour', message: 'unknown field' }] });
    const header = await post(`/things/${id}`, '{"size":1}', { 'idempotency-key': 'abcd' });
    expect(header.status).toBe(400);
    expect(await problemOf(header)).toMatchObject({ code: 'validation_failed', errors: [{ path: 'Idempotency-Key', message: 'expected at most 3 characters' }] });
    const body = await post(`/things/${id}`, '{"size":"big"}');
    expect(body.status).toBe(400);
    expect(await problemOf(body)).toMatchObject({ code: 'validation_failed', errors: [{ path: 'size' }] });
    expect((await post(`/things/${id}`, '{"size":', {})).status).toBe(400);
    expect((await post(`/things/${id}`, 'x'.repeat(2000))).status).toBe(413);
    expect((await fetch(`${base}/things/${id}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' })).status).toBe(415);
    expect(calls).toBe(0);
    expect(problems).toEqual(['job_not_found', 'invalid_query', 'validation_failed', 'validation_failed', 'invalid_json', 'payload_too_large', 'unsupported_media_type']);
    expect((await post(`/things/${id}?n=1`, '{"size":1}', { 'idempotency-key': 'abc' })).status).toBe(200);
    expect(calls).toBe(1);
  });

  it('checks the key per route: public stays open, browser pages get a Basic challenge, the rest a Bearer one', async () => {
    const route = (path: string, access: 'key' | 'browser' | 'public'): ApiRoute =>
      defineRoute({
        method: 'get',
        path,
        operationId: path,
        tag: 'pages',
        summary: path,
        access,
        responses: ok,
        errors: access === 'public' ? [] : access === 'key' ? ['unauthorized', 'rate_limited'] : ['unauthorized'],
        handle: (_input, _req, res) => void res.json({}),
      });
    const base = await serve([route('/open', 'public'), route('/page', 'browser'), route('/data', 'key')], ['k-0123456789abcdef']);
    expect((await fetch(`${base}/open`)).status).toBe(200);
    const page = await fetch(`${base}/page`);
    expect(page.status).toBe(401);
    expect(page.headers.get('www-authenticate')).toMatch(/^Basic /);
    const data = await fetch(`${base}/data`, { method: 'DELETE' });
    expect(data.status).toBe(401);
    expect(data.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect((await fetch(`${base}/data`, { headers: { authorization: 'Bearer k-0123456789abcdef' } })).status).toBe(200);
  });

  it('refuses, at start-up, a route that leaves out a code its door can answer, and two accesses on one path', () => {
    const base = { tag: 'jobs', summary: 's', responses: ok, handle: () => undefined } as const;
    expect(() =>
      routeTable([defineRoute({ ...base, method: 'get', path: '/a', operationId: 'a', request: { query: z.object({}) }, errors: ['redis_unavailable'] })], {
        keyCheck: apiKeyCheck(loadTenants({ API_KEYS: [], ADMIN_API_KEYS: [], API_KEYS_FILE: undefined })),
        maxBodyBytes: 1,
      }),
    ).toThrow('route a can answer unauthorized, rate_limited, invalid_query but does not declare it');
    expect(() =>
      routeTable(
        [
          defineRoute({ ...base, method: 'get', path: '/b', operationId: 'b1', access: 'public', errors: [] }),
          defineRoute({ ...base, method: 'post', path: '/b', operationId: 'b2', errors: ['unauthorized', 'rate_limited'] }),
        ],
        { keyCheck: apiKeyCheck(loadTenants({ API_KEYS: [], ADMIN_API_KEYS: [], API_KEYS_FILE: undefined })), maxBodyBytes: 1 },
      ),
    ).toThrow('the routes at /b must share one access, not public and key');
  });

  it('keeps a thrown SchedError as the answer and turns anything else into 500 internal', async () => {
    const thrower = (path: string, error: Error): ApiRoute =>
      defineRoute({
        method: 'get',
        path,
        operationId: path,
        tag: 'jobs',
        summary: path,
        access: 'public',
        responses: ok,
        errors: ['job_not_cancellable'],
        handle: () => {
          throw error;
        },
      });
    const base = await serve([thrower('/conflict', new SchedError('job_not_cancellable', 'no')), thrower('/bug', new Error('boom'))]);
    expect((await fetch(`${base}/conflict`)).status).toBe(409);
    const bug = await fetch(`${base}/bug`);
    expect(bug.status).toBe(500);
    expect(await bug.text()).not.toContain('boom');
  });
});
