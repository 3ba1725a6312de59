import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { Config, JobStatus, JobView } from '@sched/core';
import { untilStatus } from '../src/index.js';
import { useRedis, useTestCluster, type ClusterUnderTest, type TestCluster } from '../src/fixtures.js';

/**
 * A stand-in for a cluster: an HTTP server whose one job moves queued → running → completed on
 * successive reads. It lets these tests watch the fixture's lifecycle without the apps (which
 * sit above the kit).
 */
async function startStatusServer(config: Config): Promise<{ apiUrl: string; config: Config; closed: () => boolean; close(): Promise<void> }> {
  const statuses: JobStatus[] = ['queued', 'running', 'completed'];
  let reads = 0;
  let closed = false;
  const server = createServer((req, res) => {
    const status = statuses[Math.min(reads++, statuses.length - 1)] ?? 'completed';
    const view: JobView = { id: 'j1', status, model: 'default', priority: 'normal', attempts: 1, timings: { createdAt: new Date(0).toISOString() } };
    res.writeHead(req.url === '/v1/jobs/j1' ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(view));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    config,
    closed: () => closed,
    close: async () => {
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('useRedis', () => {
  const redis = useRedis();

  it('gives the tests a redis-server of their own that answers', async () => {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    try {
      expect(await connection.ping()).toBe('PONG');
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.server.port}`);
    } finally {
      connection.disconnect();
    }
  });

  it('makes a config on that server with a fresh key prefix each time, overrides applied', () => {
    const first = redis.config({ SCHED_POLICY: 'greedy-gpu' });
    const second = redis.config();
    expect(first.REDIS_URL).toBe(redis.url);
    expect(first.SCHED_POLICY).toBe('greedy-gpu');
    expect(first.KEY_PREFIX).not.toBe(second.KEY_PREFIX);
  });
});

let statusServer: Awaited<ReturnType<typeof startStatusServer>> | undefined;
/** The fixture of the describe below, for the one after it to read once its scope has ended. */
let ended: TestCluster<ClusterUnderTest> | undefined;

describe('useTestCluster', () => {
  const ctx = useTestCluster(
    async (config) => {
      statusServer = await startStatusServer(config);
      return statusServer;
    },
    { env: { SCHED_POLICY: 'cost' } },
  );

  it('starts the cluster on its own redis-server with the env on top of the test config', () => {
    expect(ctx.cluster).toBe(statusServer);
    expect(ctx.cluster.closed()).toBe(false);
    expect(ctx.config.REDIS_URL).toBe(ctx.redisUrl);
    expect(ctx.config.SCHED_POLICY).toBe('cost');
    expect(ctx.cluster.config).toBe(ctx.config);
    expect(ctx.redis.running).toBe(true);
  });

  it("gives a client for the cluster's API, which untilStatus polls through passing statuses", async () => {
    const running = await untilStatus(ctx.client, 'j1', 'running', 2000);
    expect(running.status).toBe('running');
    expect((await ctx.client.get('j1')).status).toBe('completed');
    await expect(untilStatus(ctx.client, 'j1', 'queued', 50)).rejects.toThrow('job j1 is completed, not queued, after 50 ms');
  });

  ended = ctx;
});

describe('a test cluster read after the tests of its scope', () => {
  it('was closed, its redis-server destroyed, and says so', () => {
    expect(statusServer?.closed()).toBe(true);
    expect(() => ended?.cluster).toThrow('the test cluster exists only between beforeAll and afterAll');
    expect(() => ended?.redis).toThrow('the redis-server exists only between beforeAll and afterAll');
  });
});
