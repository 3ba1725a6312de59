import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '@sched/core';
import { rawRequest } from '@sched/testkit';
import { useApi } from './use-api.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 50, p99Ms: 50 } } },
  workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }],
});

const ctx = useApi(fleet);
let base = '';
let port = 0;
beforeAll(() => {
  base = ctx.cluster.apiUrl;
  port = Number(new URL(base).port);
});

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
}

function expectProblemOf(status: number, contentType: string | null | undefined, text: string, code: string): Problem {
  expect({ status, contentType, text }).toMatchObject({ status });
  expect(contentType).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(text) as Problem;
  expect(problem).toMatchObject({ status, code, type: `urn:sched:problem:${code}` });
  expect(problem.detail.length).toBeGreaterThan(0);
  return problem;
}

async function expectProblem(res: Response, status: number, code: string): Promise<Problem> {
  return expectProblemOf(res.status, res.headers.get('content-type'), await res.text(), code);
}

const submit = (body: string | Uint8Array, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

/** `{"a":{"a":…1…}}`, `levels` objects deep. */
const nested = (levels: number): string => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

describe('a body that does not decode under its Content-Encoding', () => {
  it.each(['gzip', 'deflate', 'br'])('answers 400 invalid_json for garbage declared as %s', async (encoding) => {
    const problem = await expectProblem(await submit('{"model":"default","input":1}', { 'content-encoding': encoding }), 400, 'invalid_json');
    expect(problem.detail).toContain(encoding);
  });

  it('answers 400 for a truncated gzip stream, and takes a whole one', async () => {
    const body = gzipSync(JSON.stringify({ model: 'default', input: 1 }));
    await expectProblem(await submit(body.subarray(0, body.length - 6), { 'content-encoding': 'gzip' }), 400, 'invalid_json');
    expect((await submit(body, { 'content-encoding': 'gzip' })).status).toBe(202);
    expect((await submit(deflateSync(JSON.stringify({ model: 'default', input: 2 })), { 'content-encoding': 'deflate' })).status).toBe(202);
    expect((await submit(brotliCompressSync(JSON.stringify({ model: 'default', input: 3 })), { 'content-encoding': 'br' })).status).toBe(202);
  });
});

describe('a job id that is not valid percent-encoding', () => {
  for (const id of ['%', '%ZZ', 'a%', '%E0%A4%A']) {
    it(`answers 400 malformed_request to GET, DELETE and /events of /v1/jobs/${id}`, async () => {
      for (const [method, path] of [['GET', `/v1/jobs/${id}`], ['DELETE', `/v1/jobs/${id}`], ['GET', `/v1/jobs/${id}/events`]] as const) {
        const problem = await expectProblem(await fetch(`${base}${path}`, { method }), 400, 'malformed_request');
        expect(problem.detail).toContain('percent-encoding');
      }
    });
  }
});

describe('deeply nested input', () => {
  it('refuses an input nested deeper than 64 levels with a field error on input', async () => {
    const body = `{"model":"default","input":${nested(5000)}}`;
    const problem = await expectProblem(await submit(body), 400, 'validation_failed');
    expect(problem.errors).toEqual([{ path: 'input', message: 'nested deeper than 64 levels of arrays and objects' }]);
  });

  it('refuses it in a batch item too, and takes 64 levels but not 65', async () => {
    const batch = await fetch(`${base}/v1/jobs/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"jobs":[{"model":"default","input":${nested(10_000)}}]}`,
    });
    expect(batch.status).toBeLessThan(500);
    expect(batch.headers.get('content-type')).toMatch(/^application\/(problem\+)?json/);
    expect(JSON.stringify(await batch.json())).toContain('64');
    expect((await submit(`{"model":"default","input":${nested(64)}}`)).status).toBe(202);
    await expectProblem(await submit(`{"model":"default","input":${nested(65)}}`), 400, 'validation_failed');
  });

  it('refuses a deeply nested body of any shape without a 500', async () => {
    await expectProblem(await submit('['.repeat(100_000) + ']'.repeat(100_000)), 400, 'validation_failed');
    await expectProblem(await submit(`{"model":"default","input":1,"extra":${nested(100_000)}}`), 400, 'validation_failed');
  });
});

describe('model names that are properties of every object', () => {
  for (const model of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf']) {
    it(`refuses model "${model}" with 422 unknown_model`, async () => {
      await expectProblem(await submit(JSON.stringify({ model, input: 1 })), 422, 'unknown_model');
    });
  }
});

describe('HEAD of an event stream', () => {
  it('answers the head at once instead of holding the connection', async () => {
    const { id } = (await (await submit(JSON.stringify({ model: 'default', input: 1 }))).json()) as { id: string };
    for (const path of [`/v1/jobs/${id}/events`, '/v1/fleet/stream']) {
      const res = await fetch(`${base}${path}`, { method: 'HEAD', signal: AbortSignal.timeout(3000) });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
    }
  });
});

describe('requests refused by the HTTP parser', () => {
  it('answers headers over the limit with 431 problem+json', async () => {
    const res = await rawRequest(port, `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`);
    const problem = expectProblemOf(res.status, res.headers['content-type'], res.body, 'headers_too_large');
    expect(problem.detail).toMatch(/header/i);
  });

  it('answers a URL over the limit with 414 problem+json, below and above the header limit', async () => {
    for (const length of [9000, 20_000]) {
      const res = await rawRequest(port, `GET /healthz?x=${'a'.repeat(length)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      const problem = expectProblemOf(res.status, res.headers['content-type'], res.body, 'uri_too_long');
      expect(problem.detail).toContain('8192');
    }
  });

  it('answers a malformed request with 400 problem+json', async () => {
    for (const request of ['GET /v1/models HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 'G(T / HTTP/1.1\r\n\r\n', 'GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n']) {
      const res = await rawRequest(port, request);
      const problem = expectProblemOf(res.status, res.headers['content-type'], res.body, 'malformed_request');
      expect(problem.detail.length).toBeGreaterThan(10);
    }
  });

  it('answers an HTTP/1.1 request without Host with 400, CONNECT with 405 and an unknown Expect with 417, each problem+json', async () => {
    const cases = [
      ['GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n', 400, 'malformed_request'],
      ['CONNECT /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 405, 'method_not_allowed'],
      ['POST /v1/jobs HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}', 417, 'expectation_failed'],
    ] as const;
    for (const [request, status, code] of cases) {
      const res = await rawRequest(port, request);
      expectProblemOf(res.status, res.headers['content-type'], res.body, code);
      expect(res.status).toBe(status);
    }
  });

  it('still serves the next request', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
