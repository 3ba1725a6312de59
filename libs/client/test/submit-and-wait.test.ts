import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { JobAccepted, JobView } from '@sched/core';
import { createClient, type SchedClient } from '../src/index.js';

// The client's side of `Prefer: wait`, against a scripted HTTP server that records what it is
// sent. The real API's side is in apps/cluster/test/prefer-wait.test.ts.

const ID = '0b0e3c1e-0000-4000-8000-000000000001';
const accepted: JobAccepted = { id: ID, status: 'queued', model: 'default', createdAt: '2026-01-01T00:00:00.000Z' };
const view = (status: JobView['status']): JobView => ({
  id: ID,
  status,
  model: 'default',
  priority: 'normal',
  attempts: 1,
  timings: { createdAt: '2026-01-01T00:00:00.000Z' },
  metadata: {},
});

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

let server: Server;
let client: SchedClient;
let seen: Seen[] = [];
/** The answers still to give, in order: status and body. */
let script: [number, unknown][] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => {
      const [status, body] = script.shift() ?? [500, { code: 'internal' }];
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = createClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});
afterAll(async () => {
  await client.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  seen = [];
  script = [];
});

describe('submitAndWait', () => {
  it('sends Prefer: wait=30 and returns the ended view of a 200 without another request', async () => {
    script = [[200, view('completed')]];
    expect(await client.submitAndWait({ model: 'default', input: 1 })).toEqual(view('completed'));
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /v1/jobs']);
    expect(seen[0]?.headers.prefer).toBe('wait=30');
  });

  it('sends its waitS and Idempotency-Key, and takes a failed job as ended', async () => {
    script = [[200, view('failed')]];
    expect((await client.submitAndWait({ model: 'default', input: 1 }, { waitS: 2.5, idempotencyKey: 'k-1' })).status).toBe('failed');
    expect(seen[0]?.headers).toMatchObject({ prefer: 'wait=2.5', 'idempotency-key': 'k-1' });
  });

  it('waits no longer than timeoutS in the submission', async () => {
    script = [[200, view('completed')]];
    await client.submitAndWait({ model: 'default', input: 1 }, { timeoutS: 4 });
    expect(seen[0]?.headers.prefer).toBe('wait=4');
  });

  it('long-polls the job after a 202 (the job outlasted the wait, or the API ignores Prefer) until it ends', async () => {
    script = [
      [202, accepted],
      [200, view('running')],
      [200, view('completed')],
    ];
    expect((await client.submitAndWait({ model: 'default', input: 1 }, { pollS: 2 })).status).toBe('completed');
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /v1/jobs', `GET /v1/jobs/${ID}?wait=2`, `GET /v1/jobs/${ID}?wait=2`]);
  });

  it('refuses a waitS outside (0, 30] before sending anything', async () => {
    for (const waitS of [0, -1, 31, Number.NaN]) {
      await expect(client.submitAndWait({ model: 'default', input: 1 }, { waitS }), String(waitS)).rejects.toThrow(TypeError);
    }
    expect(seen).toEqual([]);
  });
});
