import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookSink, commandsPerJob, formatCommandsPerJob } from '../src/index.js';
import { useRedis } from '../src/fixtures.js';

/**
 * A stand-in for a cluster whose cost per job is known exactly: a submission runs SET, a long-poll
 * GET, a submission with `Prefer: wait` SET, GET and HSET, and a job whose input is "fail" fails.
 * The kit sits below the apps, so the real pipeline is measured in apps/cluster/test/redis-budget.test.ts.
 */
async function startStandIn(redisUrl: string, apiKey: string): Promise<{ url: string; unauthorised: () => number; close(): Promise<void> }> {
  const redis = new Redis(redisUrl);
  let unauthorised = 0;
  let next = 0;
  const body = async (req: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.headers.authorization !== `Bearer ${apiKey}`) unauthorised++;
      const json = (status: number, value: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      };
      if (req.method === 'POST') {
        const { input } = JSON.parse(await body(req)) as { input: unknown };
        const id = `j${next++}`;
        await redis.set(`job:${id}`, input === 'fail' ? 'failed' : 'completed');
        if (req.headers.prefer === undefined) return json(202, { id, status: 'queued' });
        const status = await redis.get(`job:${id}`);
        await redis.hset(`view:${id}`, 'status', status ?? '');
        return json(200, { id, status });
      }
      const id = /\/v1\/jobs\/([^?]+)/.exec(req.url ?? '')?.[1] ?? '';
      json(200, { id, status: await redis.get(`job:${id}`) });
    })();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    unauthorised: () => unauthorised,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}

describe('commandsPerJob', () => {
  const redis = useRedis();
  const apiKey = 'stand-in-key-0123456789';
  let standIn: Awaited<ReturnType<typeof startStandIn>>;
  let ticker: ChildProcess;

  beforeAll(async () => {
    standIn = await startStandIn(redis.url, apiKey);
    // Timer-driven commands, like heartbeats: about 20 INCR/s whether jobs run or not, from a
    // process of its own so the load of this one does not slow its timer.
    const script = `const r = new (require('ioredis').Redis)(process.argv[1]); setInterval(() => void r.incr('heartbeat'), 50);`;
    ticker = spawn(process.execPath, ['-e', script, redis.url], { stdio: 'ignore' });
    const probe = new Redis(redis.url);
    try {
      while ((await probe.exists('heartbeat')) === 0) await new Promise((r) => setTimeout(r, 20));
    } finally {
      probe.disconnect();
    }
  });
  afterAll(async () => {
    ticker.kill();
    await standIn.close();
  });

  it('counts the commands each job costs, the idle rate and the warm-up taken out', async () => {
    const measured = await commandsPerJob({ apiUrl: standIn.url, redisUrl: redis.url, apiKey, jobs: 100, clients: 4, idleMs: 300, settleMs: 50 });
    expect(measured.jobs).toBe(100);
    expect(measured.clients).toBe(4);
    expect(measured.idlePerS).toBeGreaterThan(0);
    const perCommand = Object.fromEntries(measured.byCommand.map((c) => [c.command, c.perJob]));
    expect(perCommand.set).toBe(1);
    expect(perCommand.get).toBe(1);
    expect(perCommand.incr).toBeCloseTo(0, 0);
    expect(measured.perJob).toBeCloseTo(2, 0);
    expect(standIn.unauthorised()).toBe(0);
    expect(formatCommandsPerJob(measured)).toMatch(/^\d\.\d commands\/job over 100 jobs from 4 clients in \d+ ms .*\n {2}(set|get) +1\.00\n/);
  });

  it('waits with one request per job under Prefer: wait', async () => {
    const measured = await commandsPerJob({ apiUrl: standIn.url, redisUrl: redis.url, apiKey, wait: 'prefer-wait', jobs: 50, idleMs: 300, settleMs: 50 });
    const perCommand = Object.fromEntries(measured.byCommand.map((c) => [c.command, c.perJob]));
    expect([perCommand.set, perCommand.get, perCommand.hset]).toEqual([1, 1, 1]);
  });

  it('keeps the window open until the work jobs leave behind is drained', async () => {
    const sink = await WebhookSink.start();
    try {
      // Each job's "webhook" lands 50 ms after the job ended; the window must cover every one.
      const measured = await commandsPerJob({
        apiUrl: standIn.url,
        redisUrl: redis.url,
        apiKey,
        jobs: 20,
        clients: 2,
        idleMs: 200,
        settleMs: 0,
        request: (n) => {
          setTimeout(() => void fetch(sink.url(), { method: 'POST', body: String(n) }), 50);
          return { model: 'default', input: n };
        },
        drained: (ended) => sink.received >= ended,
      });
      expect(sink.received).toBe(24);
      expect(measured.jobs).toBe(20);
    } finally {
      await sink.close();
    }
  });

  it('throws when a job does not complete, since a failed job costs a different count', async () => {
    await expect(
      commandsPerJob({ apiUrl: standIn.url, redisUrl: redis.url, apiKey, jobs: 4, clients: 1, warmupJobs: 0, idleMs: 50, settleMs: 0, request: () => ({ model: 'default', input: 'fail' }) }),
    ).rejects.toThrow(/ended failed/);
  });
});
