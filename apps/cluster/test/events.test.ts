import { afterAll, describe, expect, it } from 'vitest';
import type { JobEvent } from '@sched/client';
import { parseCatalog } from '@sched/core';
import { createWorkerHost, type WorkerHost } from '@sched/worker';
import { useCluster } from './support.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 300, p99Ms: 300 } }, other: { cpu: { p50Ms: 5, p99Ms: 5 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 1 },
    { id: 'cpu-0', class: 'cpu', slots: 1 },
  ],
});

// Only the cpu runs at first: a `default` job stays queued until the gpu starts.
const ctx = useCluster(fleet, { WORKER_IDS: 'cpu-0' });
let gpu: WorkerHost | undefined;

afterAll(async () => {
  await gpu?.close();
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
    const { client } = ctx;
    const { id } = await client.submit({ model: 'default', input: 'stream me' });
    const events = await collect(client.events(id), async () => {
      gpu = await createWorkerHost({ ...ctx.config, WORKER_IDS: ['gpu-0'] }, { fleet, serveMetrics: false });
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
    const res = await fetch(`${ctx.cluster.apiUrl}/v1/jobs/5f0c7a56-6a4c-4d0e-9d5e-2d1a3b4c5d6e/events`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});
