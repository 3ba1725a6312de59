import { createServer } from 'node:http';
import { createConnection, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createClient, verifyWebhook } from '@sched/client';
import { describe, expect, it } from 'vitest';
import { spawnApp, waitFor } from '@sched/testkit';

const quiet = { API_PORT: '0', DISPATCHER_METRICS_PORT: '0', WORKER_METRICS_PORT: '0', LOG_LEVEL: 'warn', HEARTBEAT_MS: '200' };

/** This machine's first non-loopback IPv4 address, if it has one. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((address) => address !== undefined && address.family === 'IPv4' && !address.internal)?.address;

function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('the local cluster (npm start)', () => {
  it('starts an embedded Redis, serves jobs, and on Ctrl-C stops everything, Redis included', async () => {
    const app = spawnApp('cluster', quiet);
    await waitFor(() => app.output().includes('Ctrl-C stops everything'), 20_000, 'the start banner');
    const apiUrl = /API\s+(http:\/\/\S+)\/v1\/jobs/.exec(app.output())?.[1] ?? '';
    expect(app.output()).toContain(`Fleet page   ${apiUrl}/`);
    const redisPort = Number(/Redis\s+redis:\/\/127\.0\.0\.1:(\d+) \(embedded/.exec(app.output())?.[1]);
    expect(apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await portOpen(redisPort)).toBe(true);
    expect(app.output()).toContain(`curl -s -X POST ${apiUrl}/v1/jobs`);

    const client = createClient({ baseUrl: apiUrl });
    const view = await client.wait((await client.submit({ model: 'resnet50', input: 'cat.jpg' })).id, { timeoutS: 10 });
    expect(view.status).toBe('completed');

    // Only this machine reaches it: the API and the metrics endpoints listen on loopback.
    expect(app.output()).toContain('Access       this machine only (on 127.0.0.1; HOST=0.0.0.0 opens it to the network), no API keys');
    if (external !== undefined) {
      const metricsPorts = /dispatcher :(\d+) · workers :(\d+)/.exec(app.output())?.slice(1).map(Number) ?? [];
      expect(metricsPorts).toHaveLength(2);
      for (const port of [Number(new URL(apiUrl).port), ...metricsPorts]) {
        expect(await portOpen(port)).toBe(true);
        expect(await portOpen(port, external)).toBe(false);
      }
    }

    // Webhooks work out of the box: a loopback receiver is allowed, and the banner's secret verifies them.
    expect(app.output()).toContain('private and loopback receivers allowed (the API listens on loopback only: local development only)');
    const secret = /signed with (whsec_\S+)/.exec(app.output())?.[1] ?? '';
    const received: { body: string; headers: Record<string, string | string[] | undefined> }[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ body, headers: req.headers });
        res.writeHead(204).end();
      });
    }).listen(0, 'localhost');
    await new Promise((resolve) => receiver.once('listening', resolve));
    try {
      const hook = `http://localhost:${(receiver.address() as AddressInfo).port}/done`;
      const { id } = await client.submit({ model: 'resnet50', input: 'dog.jpg', webhook: { url: hook } });
      await waitFor(() => received.length > 0, 10_000, 'the webhook');
      const first = received[0] ?? { body: '', headers: {} };
      expect(verifyWebhook(secret, first.body, first.headers).job).toMatchObject({ id, status: 'completed' });
    } finally {
      receiver.close();
      await client.close();
    }

    app.child.kill('SIGINT');
    expect(await app.exited).toBe(0);
    expect(await portOpen(redisPort)).toBe(false);
  });

  it('on HOST=0.0.0.0 keeps the webhook SSRF guard on and says the API is open to the network', async () => {
    const app = spawnApp('cluster', { ...quiet, HOST: '0.0.0.0' });
    try {
      await waitFor(() => app.output().includes('Ctrl-C stops everything'), 20_000, 'the start banner');
      expect(app.output()).toContain('private and loopback receivers refused (the API is reachable from the network; WEBHOOK_ALLOW_PRIVATE=true allows them)');
      expect(app.output()).toContain('Access       the network (on 0.0.0.0), no API keys (set API_KEYS to require one)');
      const apiUrl = /API\s+(http:\/\/\S+)\/v1\/jobs/.exec(app.output())?.[1] ?? '';
      if (external !== undefined) expect(await portOpen(Number(new URL(apiUrl).port), external)).toBe(true);
      const refused = await fetch(`${apiUrl}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'resnet50', input: 1, webhook: { url: 'http://127.0.0.1:9/hook' } }),
      });
      expect(refused.status).toBe(422);
      expect(((await refused.json()) as { code: string }).code).toBe('webhook_url_forbidden');
    } finally {
      app.child.kill('SIGINT');
      expect(await app.exited).toBe(0);
    }
  });

  it('without REDIS_URL and without redis-server says how to get one, in one line, and exits 1', async () => {
    const app = spawnApp('cluster', { ...quiet, PATH: '/nonexistent' });
    expect(await app.exited).toBe(1);
    const lines = app.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^cluster: no REDIS_URL and no redis-server on PATH: install one .*REDIS_URL=redis:\/\//);
  });
});
