import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { JobView, JobWaitResult } from '@sched/core';
import { createClient, type SchedClient } from '../src/index.js';

// The client's loop of `POST /v1/jobs/wait` against a scripted server that ends one job per request;
// the real API's side is in apps/api/test/client-batch.test.ts.

const view = (id: string, status: JobView['status']): JobView => ({ id, status, model: 'default', priority: 'normal', attempts: 0, timings: { createdAt: '2026-01-01T00:00:00.000Z' } });
const id = (i: number): string => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

let server: Server;
let client: SchedClient;
let bodies: { ids: string[]; timeoutS: number }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as { ids: string[]; timeoutS: number };
      bodies.push(body);
      // Each answer ends the first pending job and leaves the rest running.
      const [first, ...rest] = body.ids;
      const answer: JobWaitResult = {
        done: rest.length === 0,
        jobs: [...(first === undefined ? [] : [view(first, 'completed')]), ...rest.map((x) => view(x, 'running'))],
        pending: rest,
        unknown: [],
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
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
  bodies = [];
});

describe('waitMany', () => {
  it('asks again with only the pending ids until none is left, and keeps the order asked', async () => {
    const ids = [id(1), id(2), id(3), id(2)];
    const result = await client.waitMany(ids, { pollS: 5 });
    expect(bodies.map((b) => b.ids)).toEqual([[id(1), id(2), id(3)], [id(2), id(3)], [id(3)]]);
    expect(bodies[0]?.timeoutS).toBe(5);
    expect(result).toEqual({ done: true, jobs: [id(1), id(2), id(3)].map((x) => view(x, 'completed')), pending: [], unknown: [] });
  });

  it('waits on more than 1,000 ids in parts of at most 1,000', async () => {
    const ids = Array.from({ length: 1001 }, (_, i) => id(i));
    const result = await client.waitMany(ids, { timeoutS: 0.2, pollS: 0.1 });
    const firstRound = bodies.filter((b) => b.ids[0] === id(0) || b.ids[0] === id(1000));
    expect(firstRound.map((b) => b.ids.length).sort((a, b) => a - b)).toEqual([1, 1000]);
    expect(result.jobs).toHaveLength(1001);
    expect(result.done).toBe(false);
    expect(result.pending.length).toBeGreaterThan(0);
  });

  it('refuses a bad timeoutS or pollS before sending anything', async () => {
    await expect(client.waitMany([id(1)], { timeoutS: 0 })).rejects.toThrow(TypeError);
    await expect(client.waitMany([id(1)], { pollS: 31 })).rejects.toThrow(TypeError);
    expect(bodies).toEqual([]);
  });
});
