import { describe, expect, it } from 'vitest';
import { parseCatalog, type JobView } from '@sched/core';
import type { SchedClient } from '@sched/client';
import { untilStatus } from '@sched/testkit';
import { useCluster } from './support.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 150, p99Ms: 150 }, cpu: { p50Ms: 900, p99Ms: 900 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 1, costPerHour: 2 },
    { id: 'cpu-0', class: 'cpu', slots: 1, costPerHour: 0.2 },
  ],
});

/** Submits a job and long-polls it to its end. */
async function run(client: SchedClient, request: { input: unknown; deadlineMs?: number }): Promise<JobView> {
  const { id } = await client.submit({ model: 'default', ...request });
  return client.wait(id, { timeoutS: 10 });
}

// Each policy gets a cluster of its own (one per describe), so no test sees another's jobs.
describe('speed-aware routing, live', () => {
  describe('sed', () => {
    const ctx = useCluster(fleet, { SCHED_POLICY: 'sed' });

    it('sed: a busy gpu still wins over an idle cpu when waiting for it is faster', async () => {
      const { id: first } = await ctx.client.submit({ model: 'default', input: 1 });
      expect((await untilStatus(ctx.client, first, 'running')).worker?.id).toBe('gpu-0');
      const view = await run(ctx.client, { input: 2 });
      expect(view.worker?.id).toBe('gpu-0');
      expect(view.timings.totalMs).toBeLessThan(900);
    });
  });

  describe('greedy-gpu', () => {
    const ctx = useCluster(fleet, { SCHED_POLICY: 'greedy-gpu' });

    it('greedy-gpu on the same fleet sends that job to the idle cpu instead', async () => {
      const { id: first } = await ctx.client.submit({ model: 'default', input: 1 });
      await untilStatus(ctx.client, first, 'running');
      const view = await run(ctx.client, { input: 2 });
      expect(view.worker?.id).toBe('cpu-0');
    });
  });

  describe('cost', () => {
    const ctx = useCluster(fleet, { SCHED_POLICY: 'cost', LATENCY_SLO_MS: '2000' });

    it('cost: the cheap cpu while it meets the latency target, the gpu when the deadline needs it', async () => {
      const relaxed = await run(ctx.client, { input: 1 });
      expect(relaxed.worker?.id).toBe('cpu-0');
      const urgent = await run(ctx.client, { input: 2, deadlineMs: 500 });
      expect(urgent.worker?.id).toBe('gpu-0');
    });
  });
});
