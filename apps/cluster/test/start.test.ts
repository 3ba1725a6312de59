import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { spawnApp, waitFor } from '@sched/testkit';
import { readJob, submitJob } from './support.js';

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

    const view = await readJob(apiUrl, await submitJob(apiUrl, { model: 'resnet50', input: 'cat.jpg' }), 10);
    expect(view.status).toBe('completed');

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
