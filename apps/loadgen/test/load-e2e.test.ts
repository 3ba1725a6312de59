import { startLocalCluster } from '@sched/cluster';
import { parseCatalog, seededRng } from '@sched/core';
import { useTestCluster } from '@sched/testkit/fixtures';
import { describe, expect, it } from 'vitest';
import { burstSchedule } from '../src/arrival-schedule.js';
import { buildLoadReport } from '../src/load-report.js';
import { runLoad } from '../src/load-runner.js';
import { modelPicker, parseModelMix } from '@sched/exec';

// Each model has one class that serves it, so the per-class shares follow from the seeded mix alone.
const fleet = parseCatalog({
  models: {
    resnet50: { gpu: { p50Ms: 20, p99Ms: 20 } },
    'bert-base': { cpu: { p50Ms: 40, p99Ms: 40 } },
  },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 2 },
    { id: 'cpu-0', class: 'cpu', slots: 1 },
    { id: 'cpu-1', class: 'cpu', slots: 1 },
  ],
});

const ctx = useTestCluster((config) => startLocalCluster(config, { fleet }));

describe('a burst through the real api, dispatcher and workers', () => {
  it('completes all 20 jobs and reports the share of each class and worker', async () => {
    const mix = parseModelMix('resnet50=0.5,bert-base=0.5');
    const models = Array.from({ length: 20 }, modelPicker(mix, seededRng(5)));
    const expectedGpu = models.filter((m) => m === 'resnet50').length;
    expect(expectedGpu).toBeGreaterThan(0);
    expect(expectedGpu).toBeLessThan(20);

    const recorder = await runLoad(
      {
        schedule: burstSchedule(20, 10),
        maxOutstanding: 5,
        timeoutS: 20,
        requestFor: (index) => ({ model: models[index] ?? 'resnet50', input: { seq: index } }),
      },
      { target: ctx.client },
    );
    const report = buildLoadReport('burst', recorder);

    expect(report).toMatchObject({ count: 20, completed: 20, failed: 0, errors: {} });
    expect(report.byClass).toEqual({
      gpu: { jobs: expectedGpu, share: expectedGpu / 20 },
      cpu: { jobs: 20 - expectedGpu, share: (20 - expectedGpu) / 20 },
    });
    expect(report.byWorker['gpu-0']).toEqual({ class: 'gpu', jobs: expectedGpu, share: expectedGpu / 20 });
    const cpuJobs = (report.byWorker['cpu-0']?.jobs ?? 0) + (report.byWorker['cpu-1']?.jobs ?? 0);
    expect(cpuJobs).toBe(20 - expectedGpu);
    // No job can finish faster than the fastest service time.
    expect(report.latencyMs?.p50).toBeGreaterThanOrEqual(20);
    expect(report.throughputPerS).toBeGreaterThan(0);
  });

  it('runs batches through the batch and wait routes, counting every job', async () => {
    const recorder = await runLoad(
      { schedule: burstSchedule(30, 2), maxOutstanding: 20, timeoutS: 20, batchSize: 10, requestFor: (index) => ({ model: index % 2 === 0 ? 'resnet50' : 'bert-base', input: { seq: index } }) },
      { target: ctx.client },
    );
    const report = buildLoadReport('burst', recorder);
    expect(report).toMatchObject({ count: 30, completed: 30, failed: 0, errors: {} });
    expect(report.byClass).toEqual({ gpu: { jobs: 15, share: 0.5 }, cpu: { jobs: 15, share: 0.5 } });
  });
});
