import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type JobEvent, type SchedClient } from '@sched/client';
import { parseCatalog } from '@sched/core';
import { RedisServer, testConfig } from '@sched/testkit';
import { createWorkerHost, type WorkerHost } from '@sched/worker';
import { startLocalCluster, type LocalCluster } from '../src/index.js';
import { submitJob } from './support.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 300, p99Ms: 300 } }, other: { cpu: { p50Ms: 5, p99Ms: 5 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 1 },
    { id: 'cpu-0', class: 'cpu', slots: 1 },
  ],
});

let redis: RedisServer;
let cluster: LocalCluster;
let client: SchedClient;
let gpu: WorkerHost | undefined;

beforeAll(async () => {
  redis = await RedisServer.start({ appendOnly: false });
  // Only the cpu runs at first: a `default` job stays queued until the gpu starts.
  cluster = await startLocalCluster(testConfig(redis.url, { WORKER_IDS: 'cpu-0' }), { fleet });
  client = createClient({ baseUrl: cluster.apiUrl });
});
afterAll(async () => {
  await client?.close();
  await gpu?.close();
  await cluster?.close();
  await redis?.destroy();
});

async function collect(stream: AsyncGenerator<JobEvent>, onFirst?: () => Promise<void>): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  for await (const event of stream) {
    events.push(event);
    if (events.length === 1) await onFirst?.();
  }
  return events;
}

describe('server-sent events: GET /v1/jobs/:id/events', () => {
  it('streams queued → dispatched → running → completed in order, then closes; Last-Event-ID does not repeat events', async () => {
    const id = await submitJob(cluster.apiUrl, { model: 'default', input: 'stream me' });
    const events = await collect(client.events(id), async () => {
      gpu = await createWorkerHost({ ...cluster.config, WORKER_IDS: ['gpu-0'] }, { fleet, serveMetrics: false });
    });
    expect(events.map((e) => e.event)).toEqual(['queued', 'dispatched', 'running', 'completed']);
    const ids = events.map((e) => Number(e.id));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(events[0]?.data.status).toBe('queued');
    expect(events[3]?.data).toMatchObject({ status: 'completed', result: { worker: 'gpu-0' } });

    const resumed = await collect(client.events(id, { lastEventId: events[2]?.id }));
    expect(resumed.map((e) => e.event)).toEqual(['completed']);
    expect(await collect(client.events(id, { lastEventId: events[3]?.id }))).toEqual([]);
  });

  it('answers an unknown job with 404 problem+json before streaming', async () => {
    const res = await fetch(`${cluster.apiUrl}/v1/jobs/5f0c7a56-6a4c-4d0e-9d5e-2d1a3b4c5d6e/events`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});
