import { createServer } from 'node:http';
import { createConnection, type AddressInfo } from 'node:net';
import { createClient, verifyWebhook } from '@sched/client';
import { describe, expect, it } from 'vitest';
import { spawnApp, waitFor } from '@sched/testkit';

const quiet = { API_PORT: '0', DISPATCHER_METRICS_PORT: '0', WORKER_METRICS_PORT: '0', LOG_LEVEL: 'warn', HEARTBEAT_MS: '200' };

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
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

    // Webhooks work out of the box: a loopback receiver is allowed, and the banner's secret verifies them.
    expect(app.output()).toContain('private and loopback receivers allowed (WEBHOOK_ALLOW_PRIVATE=true');
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

  it('without REDIS_URL and without redis-server says how to get one, in one line, and exits 1', async () => {
    const app = spawnApp('cluster', { ...quiet, PATH: '/nonexistent' });
    expect(await app.exited).toBe(1);
    const lines = app.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^cluster: no REDIS_URL and no redis-server on PATH: install one .*REDIS_URL=redis:\/\//);
  });
});
