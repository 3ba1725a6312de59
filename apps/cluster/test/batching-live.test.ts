import { describe, expect, it } from 'vitest';
import { keySpace, parseCatalog, type JobView } from '@sched/core';
import { createRedis } from '@sched/runtime';
import { useCluster } from './support.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 200, p99Ms: 200, batchAlpha: 0.1 } } },
  workers: [{ id: 'gpu-0', class: 'gpu', slots: 1, maxBatch: 4, maxQueueDelayMs: 150 }],
});

const ctx = useCluster(fleet);

describe('dynamic batching on a live worker', () => {
  it('runs a full batch at once, taking base × (1 + α·(b − 1))', async () => {
    const accepted = await Promise.all([1, 2, 3, 4].map((i) => ctx.client.submit({ model: 'default', input: i })));
    const views: JobView[] = await Promise.all(accepted.map(({ id }) => ctx.client.wait(id, { timeoutS: 10 })));
    expect(views.map((v) => v.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    const finished = views.map((v) => Date.parse(v.timings.finishedAt ?? ''));
    // One execution: all four finish together, 200 × 1.3 = 260 ms after the batch started.
    expect(Math.max(...finished) - Math.min(...finished)).toBeLessThan(30);
    const totals = views.map((v) => v.timings.totalMs ?? 0);
    expect(Math.min(...totals)).toBeGreaterThanOrEqual(255);
    expect(Math.max(...totals)).toBeLessThan(255 + 150);
  });

  it('fires a lone job once it has waited maxQueueDelayMs', async () => {
    const { id } = await ctx.client.submit({ model: 'default', input: 'alone' });
    const view = await ctx.client.wait(id, { timeoutS: 10 });
    expect(view.status).toBe('completed');
    expect(view.timings.totalMs).toBeGreaterThanOrEqual(150 + 200);
    expect(view.timings.totalMs).toBeLessThan(150 + 200 + 100);
  });

  it('reports its mean batch size and per-job service time in the heartbeat', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const redisClient = createRedis(ctx.redisUrl, 'service');
    const descriptor = await redisClient.hgetall(keySpace(ctx.cluster.config.KEY_PREFIX).workerDescriptor('gpu-0'));
    redisClient.disconnect();
    expect(Number(descriptor.batchSize)).toBeGreaterThan(1);
    const serviceMs = JSON.parse(descriptor.serviceMs ?? '{}') as Record<string, number>;
    expect(serviceMs.default).toBeGreaterThan(60);
    expect(serviceMs.default).toBeLessThan(200);
  });
});
