import { JobFailure, parseCatalog, seededRng, type Catalog, type JobPayload, type ResolvedWorker, type Rng } from '@sched/core';
import { busyCost, LatencyModel, simulateOutput } from '@sched/exec';
import { createRegistry, createWorkerMetrics } from '@sched/telemetry';
import type { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SimulatedExecutor, type ExecutableJob, type SimulatedExecutorOptions } from '../src/simulated-executor.js';

// p50 = p99: a constant latency, so every timing below is known.
const catalog: Catalog = parseCatalog({
  models: {
    m: { gpu: { p50Ms: 60, p99Ms: 60 } },
    batched: { gpu: { p50Ms: 40, p99Ms: 40, batchAlpha: 0.25 } },
    slow: { gpu: { p50Ms: 300, p99Ms: 300, batchAlpha: 0.25 } },
  },
  workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }],
});

function worker(overrides: Partial<ResolvedWorker> = {}): ResolvedWorker {
  return { id: 'gpu-0', class: 'gpu', slots: 1, models: ['m', 'batched', 'slow'], ...overrides };
}

interface Harness {
  executor: SimulatedExecutor;
  registry: Registry;
  running: ExecutableJob[];
}

function harness(spec: ResolvedWorker, rng: Rng = seededRng(1), limits: SimulatedExecutorOptions['limits'] = { MAX_SERVICE_MS: 600_000, MAX_RESULT_BYTES: 1_048_576 }): Harness {
  const registry = createRegistry('worker');
  const running: ExecutableJob[] = [];
  const executor = new SimulatedExecutor({
    spec,
    latency: new LatencyModel(catalog.models),
    models: catalog.models,
    rng,
    metrics: createWorkerMetrics(registry),
    limits,
    onRunning: (job) => running.push(job),
  });
  return { executor, registry, running };
}

let nextId = 0;
function job(payload: Partial<JobPayload> = {}, processedOn = Date.now()): ExecutableJob {
  const data: JobPayload = { model: 'm', input: { n: nextId }, priority: 'normal', createdAt: Date.now(), owner: 'anonymous', ...payload };
  return { id: `job-${++nextId}`, data, processedOn, attemptsStarted: 1 };
}

async function failureOf(promise: Promise<unknown>): Promise<JobFailure> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(JobFailure);
    return error as JobFailure;
  }
  throw new Error('expected the execution to fail');
}

async function metricValue(registry: Registry, name: string): Promise<number> {
  const line = new RegExp(`^${name}\\{[^}]*worker="gpu-0"[^}]*\\} (\\S+)$`, 'm').exec(await registry.metrics());
  return Number(line?.[1]);
}

describe('SimulatedExecutor', () => {
  it('runs a job for its sampled latency and returns the simulated output', async () => {
    const { executor, running } = harness(worker());
    const picked = job({ input: 'hello' });
    const result = await executor.execute(picked);
    expect(Date.now() - (picked.processedOn ?? 0)).toBeGreaterThanOrEqual(58);
    expect(result).toEqual({ model: 'm', worker: 'gpu-0', class: 'gpu', output: simulateOutput('m', 'hello') });
    expect(running).toEqual([picked]);
  });

  it('counts the time since BullMQ handed the job over as part of its execution', async () => {
    const { executor } = harness(worker({ slots: 1 }));
    const started = Date.now();
    await executor.execute(job({}, Date.now() - 50));
    expect(Date.now() - started).toBeLessThan(45);
  });

  it('holds one slot while a job runs and reports it to the heartbeat and the busy gauge', async () => {
    const { executor, registry } = harness(worker());
    // 300 ms: long enough to read the gauge while it runs, even on a busy machine.
    const execution = executor.execute(job({ model: 'slow' }));
    expect(executor.busy).toBe(1);
    expect(await metricValue(registry, 'sched_worker_busy_slots')).toBe(1);
    await execution;
    expect(executor.busy).toBe(0);
    expect(await metricValue(registry, 'sched_worker_busy_slots')).toBe(0);
    expect(executor.stats.snapshot()).toEqual({ slow: 300 });
    expect(executor.stats.batchSize).toBe(1);
  });

  it('skips a job picked up too late for its deadline: deadline_exceeded, not retried, never run', async () => {
    const { executor, running } = harness(worker());
    // 100 ms deadline, submitted 500 ms ago: its latest start (createdAt + 100 − p50 60) has passed.
    const failure = await failureOf(executor.execute(job({ deadlineMs: 100, createdAt: Date.now() - 500 })));
    expect(failure).toMatchObject({ code: 'deadline_exceeded', retryable: false, message: 'picked up too late for its 100 ms deadline; not run' });
    expect(running).toEqual([]);
    expect(executor.busy).toBe(0);
  });

  it('runs a job whose deadline it can still meet', async () => {
    const { executor } = harness(worker());
    await expect(executor.execute(job({ deadlineMs: 5000 }))).resolves.toMatchObject({ worker: 'gpu-0' });
  });

  it("fails a run with the worker's failureRate as a retryable execution_failed, after running it", async () => {
    // Every draw is 0.25: below a failureRate of 0.5.
    const { executor, running } = harness(worker({ failureRate: 0.5 }), () => 0.25);
    const failure = await failureOf(executor.execute(job()));
    expect(failure).toMatchObject({ code: 'execution_failed', retryable: true, message: 'simulated failure on gpu-0' });
    expect(running).toHaveLength(1);
    expect(executor.busy).toBe(0);
  });

  it("bills each job its busy time at the worker's costPerHour", async () => {
    const { executor, registry } = harness(worker({ costPerHour: 36 }));
    expect(await metricValue(registry, 'sched_job_cost_total')).toBe(0);
    await executor.execute(job());
    await executor.execute(job());
    expect(await metricValue(registry, 'sched_job_cost_total')).toBeCloseTo(2 * busyCost(60, 36), 12);
  });

  describe('with batching (maxBatch above 1)', () => {
    it('runs jobs of one model as one execution on one slot, each job costing its share of the batch', async () => {
      const { executor, running } = harness(worker({ maxBatch: 4, maxQueueDelayMs: 1000 }));
      const jobs = [job({ model: 'batched' }), job({ model: 'batched' }), job({ model: 'batched' }), job({ model: 'batched' })];
      const started = Date.now();
      const executions = jobs.map((j) => executor.execute(j));
      // A full batch fires at once, without waiting maxQueueDelayMs.
      await Promise.all(executions);
      // 40 × (1 + 0.25 × 3) = 70 ms for the batch of 4.
      expect(Date.now() - started).toBeGreaterThanOrEqual(65);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(running).toEqual(jobs);
      expect(executor.stats.snapshot()).toEqual({ batched: 17.5 });
      expect(executor.stats.batchSize).toBeGreaterThan(1);
    });

    it('holds one slot for a whole batch, and every job in it is running', async () => {
      const { executor, running } = harness(worker({ slots: 1, maxBatch: 4, maxQueueDelayMs: 20 }));
      const jobs = [job({ model: 'slow' }), job({ model: 'slow' }), job({ model: 'slow' })];
      const executions = jobs.map((j) => executor.execute(j));
      // A part batch fires once its oldest job waited 20 ms, and runs 300 × 1.5 = 450 ms.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(executor.busy).toBe(1);
      expect(running).toEqual(jobs);
      await Promise.all(executions);
      expect(executor.busy).toBe(0);
    });
  });

  describe('bounded executions', () => {
    it('stops a job that runs past MAX_SERVICE_MS: timeout, not retried, its slot free at once', async () => {
      const { executor } = harness(worker(), seededRng(1), { MAX_SERVICE_MS: 100, MAX_RESULT_BYTES: 1_048_576 });
      const started = Date.now();
      const failure = await failureOf(executor.execute(job({ model: 'slow' })));
      expect(failure).toMatchObject({ code: 'timeout', retryable: false, message: 'ran longer than 100 ms (MAX_SERVICE_MS); stopped' });
      expect(Date.now() - started).toBeLessThan(290);
      expect(executor.busy).toBe(0);
    });

    it('counts MAX_SERVICE_MS from the start BullMQ recorded', async () => {
      const { executor } = harness(worker(), seededRng(1), { MAX_SERVICE_MS: 200, MAX_RESULT_BYTES: 1_048_576 });
      const started = Date.now();
      await failureOf(executor.execute(job({ model: 'slow' }, Date.now() - 150)));
      expect(Date.now() - started).toBeLessThan(140);
    });

    it('stops a job whose signal aborts: cancelled, not retried, its slot free at once', async () => {
      const { executor } = harness(worker());
      const controller = new AbortController();
      const execution = executor.execute(job({ model: 'slow' }), controller.signal);
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(executor.busy).toBe(1);
      const started = Date.now();
      controller.abort('cancelled');
      const failure = await failureOf(execution);
      expect(failure).toMatchObject({ code: 'cancelled', retryable: false });
      expect(Date.now() - started).toBeLessThan(100);
      expect(executor.busy).toBe(0);
    });

    it('fails a job whose result is larger than MAX_RESULT_BYTES: result_too_large, not retried', async () => {
      const { executor } = harness(worker(), seededRng(1), { MAX_SERVICE_MS: 600_000, MAX_RESULT_BYTES: 40 });
      const failure = await failureOf(executor.execute(job()));
      expect(failure).toMatchObject({ code: 'result_too_large', retryable: false });
      expect(failure.message).toMatch(/^result is \d+ bytes as JSON; at most 40 are kept \(MAX_RESULT_BYTES\)$/);
    });

    it('drops a cancelled job from a running batch: the others complete, the slot stays busy for them', async () => {
      const { executor, running } = harness(worker({ slots: 1, maxBatch: 3, maxQueueDelayMs: 20 }));
      const controller = new AbortController();
      const dropped = executor.execute(job({ model: 'slow' }), controller.signal);
      const kept = executor.execute(job({ model: 'slow' }));
      // The part batch of two fires after 20 ms and runs 300 × 1.25 = 375 ms.
      await new Promise((resolve) => setTimeout(resolve, 80));
      expect(running).toHaveLength(2);
      controller.abort('cancelled');
      expect(await failureOf(dropped)).toMatchObject({ code: 'cancelled' });
      expect(executor.busy).toBe(1);
      await expect(kept).resolves.toMatchObject({ worker: 'gpu-0' });
      expect(executor.busy).toBe(0);
    });

    it('frees the slot at once when every job of a running batch is dropped, and the next batch starts', async () => {
      const { executor, running } = harness(worker({ slots: 1, maxBatch: 2, maxQueueDelayMs: 0 }));
      const controller = new AbortController();
      const first = executor.execute(job({ model: 'slow' }), controller.signal);
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(executor.busy).toBe(1);
      const next = job({ model: 'slow' });
      const second = executor.execute(next);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(running).not.toContain(next);
      controller.abort('cancelled');
      expect(await failureOf(first)).toMatchObject({ code: 'cancelled' });
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(running).toContain(next);
      await second;
    });
  });

  it('asks BullMQ for one job per slot, or with batching a batch per slot plus one gathering', () => {
    expect(harness(worker({ slots: 3 })).executor.concurrency).toBe(3);
    expect(harness(worker({ slots: 3, maxBatch: 1 })).executor.concurrency).toBe(3);
    expect(harness(worker({ slots: 3, maxBatch: 4 })).executor.concurrency).toBe(16);
  });
});
