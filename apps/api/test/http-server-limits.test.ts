import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '@sched/core';
import { useRedis } from '@sched/testkit/fixtures';
import { createApi, type Api } from '../src/index.js';
import { rawRequest } from '@sched/testkit';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 50, p99Ms: 50 } } },
  workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }],
});

const redis = useRedis();
const started: Api[] = [];

/** An API of its own with these variables on top of the test config; stopped after the file. */
async function startApi(env: Record<string, string>): Promise<{ api: Api; port: number; base: string }> {
  const api = await createApi(redis.config(env), { fleet });
  started.push(api);
  const port = await api.listen();
  return { api, port, base: `http://127.0.0.1:${port}` };
}

afterAll(async () => {
  await Promise.all(started.map((api) => api.close()));
});

function openSocket(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server sends on `socket` until it closes it (or `timeoutMs`). */
function readUntilClosed(socket: Socket, timeoutMs: number): Promise<{ text: string; closedAfterMs: number }> {
  const start = Date.now();
  return new Promise((resolve) => {
    let text = '';
    const done = (): void => resolve({ text, closedAfterMs: Date.now() - start });
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.once('close', done);
    socket.once('error', () => undefined);
    setTimeout(() => {
      socket.destroy();
    }, timeoutMs).unref();
  });
}

const submitJob = async (base: string): Promise<string> => {
  const res = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'default', input: 1 }) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
};

describe('request timeouts', () => {
  let port = 0;
  let base = '';
  beforeAll(async () => {
    ({ port, base } = await startApi({ HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000' }));
  });

  it('answers headers that never end with 408 problem+json and closes', async () => {
    const socket = await openSocket(port);
    socket.write('GET /v1/models HTTP/1.1\r\nHost: x\r\n');
    const { text, closedAfterMs } = await readUntilClosed(socket, 10_000);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toMatch(/content-type: application\/problem\+json/i);
    expect(text).toContain('"code":"request_timeout"');
    expect(closedAfterMs).toBeLessThan(5000);
  });

  it('answers a body that trickles in slower than the request timeout with 408 and closes', async () => {
    const socket = await openSocket(port);
    socket.write('POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model":');
    const trickle = setInterval(() => socket.writable && socket.write(' '), 300);
    const { text, closedAfterMs } = await readUntilClosed(socket, 10_000);
    clearInterval(trickle);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain('"code":"request_timeout"');
    expect(closedAfterMs).toBeLessThan(5000);
  });

  it('keeps a long-poll open past the request timeout', async () => {
    const id = await submitJob(base);
    const started = Date.now();
    const res = await fetch(`${base}/v1/jobs/${id}?wait=4`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('queued');
    expect(Date.now() - started).toBeGreaterThanOrEqual(3900);
  });

  it('keeps an SSE stream open past the request timeout and delivers its next event', async () => {
    const id = await submitJob(base);
    const events: string[] = [];
    const streamed = new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${base}/v1/jobs/${id}/events`, (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => events.push(...[...chunk.matchAll(/^event: (\w+)$/gm)].map((m) => m[1] ?? '')));
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(events).toEqual(['queued']);
    expect((await fetch(`${base}/v1/jobs/${id}`, { method: 'DELETE' })).status).toBe(200);
    await streamed;
    expect(events).toEqual(['queued', 'cancelled']);
  });

  it('keeps an idle keep-alive connection past the headers timeout', async () => {
    const socket = await openSocket(port);
    const answers: string[] = [];
    socket.on('data', (chunk: Buffer) => answers.push(chunk.toString()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await new Promise((resolve) => socket.once('close', resolve));
    expect(answers.join('').match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
  });
});

describe('the connection cap', () => {
  it('closes connections past HTTP_MAX_CONNECTIONS and takes new ones once some close', async () => {
    const { port, base } = await startApi({ HTTP_MAX_CONNECTIONS: '3' });
    const held = await Promise.all([0, 1, 2].map(() => openSocket(port)));
    const refused = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 3000).then(
      () => 'answered',
      () => 'closed',
    );
    expect(refused).toBe('closed');
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});

describe('CORS', () => {
  const preflight = (base: string, origin: string): Promise<Response> =>
    fetch(`${base}/v1/jobs`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });

  it('sends no CORS header without CORS_ORIGINS', async () => {
    const { base } = await startApi({});
    const res = await fetch(`${base}/v1/models`, { headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await preflight(base, 'https://evil.example');
    expect(pre.status).toBeGreaterThanOrEqual(400);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows the listed origins only', async () => {
    const { base } = await startApi({ CORS_ORIGINS: 'https://app.example' });
    const pre = await preflight(base, 'https://app.example');
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    expect(pre.headers.get('access-control-allow-headers')).toContain('Content-Type');
    const res = await fetch(`${base}/v1/models`, { headers: { origin: 'https://app.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(res.headers.get('vary')).toContain('Origin');
    const other = await fetch(`${base}/v1/models`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect((await preflight(base, 'https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('the bind address', () => {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((address) => address !== undefined && address.family === 'IPv4' && !address.internal)?.address;

  it.runIf(external !== undefined)('listens on loopback only unless HOST says otherwise', async () => {
    const { port } = await startApi({ API_HOST: '' });
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    await expect(openSocket(port, external)).rejects.toThrow(/ECONNREFUSED/);
    const open = await startApi({ API_HOST: '', HOST: '0.0.0.0' });
    (await openSocket(open.port, external)).destroy();
  });
});
