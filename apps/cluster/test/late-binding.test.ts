import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { BULLMQ_PRIORITY, CANCEL_WAIT_MS, INGRESS_QUEUE, keySpace, loadCatalog, type Config, type JobPayload, type StatusMessage } from '@sched/core';
import { closeRedis, createRedis, ingressJobOptions, producerQueueOptions, subscribeWhenReady } from '@sched/runtime';
import { createApi, type Api } from '@sched/api';
import { createDispatcher, type Dispatcher } from '@sched/dispatcher';
import { RedisServer, spawnApp, testConfig, waitFor, type SpawnedApp } from '@sched/testkit';
import { createWorkerHost, type WorkerHost } from '@sched/worker';
import { readJob, submitJob, until } from './support.js';

// A fast gpu and a cpu ten times slower: a job waits for the gpu unless the line for it is long.
// Model `other` runs on its own worker.
const fleetFile = join(tmpdir(), `sched-late-binding-${process.pid}.json`);
writeFileSync(
  fleetFile,
  JSON.stringify({
    models: { default: { gpu: { p50Ms: 400, p99Ms: 400 }, cpu: { p50Ms: 4000, p99Ms: 4000 } }, other: { tiny: { p50Ms: 100, p99Ms: 100 } } },
    workers: [
      { id: 'gpu-0', class: 'gpu', slots: 1 },
      { id: 'cpu-0', class: 'cpu', slots: 1 },
      { id: 'tiny-0', class: 'tiny', slots: 1 },
    ],
  }),
);

let redis: RedisServer | undefined;
let api: Api | undefined;
let workers: WorkerHost | undefined;
let dispatcher: Dispatcher | undefined;
let spawned: SpawnedApp | undefined;

async function start(env: Record<string, string> = {}, workerIds = ['gpu-0', 'cpu-0', 'tiny-0']): Promise<{ config: Config; base: string }> {
  redis = await RedisServer.start({ appendOnly: false });
  const config = testConfig(redis.url, { FLEET_FILE: fleetFile, SCHED_POLICY: 'sed-late', LOCK_DURATION_MS: '1000', ...env });
  workers = await createWorkerHost({ ...config, WORKER_IDS: workerIds }, { fleet: loadCatalog(fleetFile), serveMetrics: false });
  api = await createApi(config);
  return { config, base: `http://127.0.0.1:${await api.listen()}` };
}

afterEach(async () => {
  spawned?.child.kill('SIGKILL');
  await spawned?.exited;
  spawned = undefined;
  await dispatcher?.close();
  dispatcher = undefined;
  await api?.close();
  await workers?.close();
  await redis?.destroy();
});

describe('sed-late (late binding), live', () => {
/** One job running on the gpu and one waiting in its queue (SED_LATE_PREFETCH=1): the next is held. */
async function busyGpu(base: string): Promise<string[]> {
  const first = await submitJob(base, { model: 'default', input: 'first' });
  expect((await until(base, first, 'running')).worker?.id).toBe('gpu-0');
  const prefetched = await submitJob(base, { model: 'default', input: 'prefetched' });
  expect((await until(base, prefetched, 'dispatched')).worker?.id).toBe('gpu-0');
  return [first, prefetched];
}

  it('holds a job while the gpu is busy (queued, no worker) and binds it to the gpu when it frees', async () => {
    const { config, base } = await start();
    dispatcher = await createDispatcher(config, { serveMetrics: false });
    await busyGpu(base);
    const third = await submitJob(base, { model: 'default', input: 3 });
    await new Promise((r) => setTimeout(r, 150));
    const waiting = await readJob(base, third);
    expect(waiting.status).toBe('queued');
    expect(waiting.worker).toBeUndefined();
    const done = await readJob(base, third, 10);
    expect(done.status).toBe('completed');
    expect(done.worker?.id).toBe('gpu-0');
    expect(done.timings.totalMs).toBeLessThan(4000);
  });

  it('with SED_LATE_PREFETCH=0 holds the second job already', async () => {
    const { config, base } = await start({ SED_LATE_PREFETCH: '0' });
    dispatcher = await createDispatcher(config, { serveMetrics: false });
    const first = await submitJob(base, { model: 'default', input: 1 });
    await until(base, first, 'running');
    const second = await submitJob(base, { model: 'default', input: 2 });
    await new Promise((r) => setTimeout(r, 150));
    expect((await readJob(base, second)).status).toBe('queued');
    expect((await readJob(base, second, 10)).worker?.id).toBe('gpu-0');
  });

  it('binds held jobs in priority order: a high-priority job submitted last runs first', async () => {
    const { config, base } = await start();
    dispatcher = await createDispatcher(config, { serveMetrics: false });
    await busyGpu(base);
    const normal = [await submitJob(base, { model: 'default', input: 1 }), await submitJob(base, { model: 'default', input: 2 })];
    const high = await submitJob(base, { model: 'default', input: 3, priority: 'high' });
    const views = await Promise.all([high, ...normal].map((id) => readJob(base, id, 10)));
    for (const view of views) expect(view.status).toBe('completed');
    const started = views.map((v) => Date.parse(v.timings.startedAt ?? ''));
    expect(started[0]).toBeLessThan(started[1] as number);
    expect(started[0]).toBeLessThan(started[2] as number);
  });

  it('never holds so many jobs of one model that a job of another waits behind them', async () => {
    // 10 ingress slots, at most 2 held: the rest of the `default` burst is bound at once (as sed would).
    const { config, base } = await start({ DISPATCH_CONCURRENCY: '10' });
    dispatcher = await createDispatcher(config, { serveMetrics: false });
    const burst = [];
    for (let i = 0; i < 30; i++) burst.push(await submitJob(base, { model: 'default', input: i }));
    const other = await readJob(base, await submitJob(base, { model: 'other', input: 'x' }), 10);
    expect(other.status).toBe('completed');
    expect(other.timings.totalMs).toBeLessThan(1500);
    expect((await Promise.all(burst.map((id) => readJob(base, id)))).filter((v) => v.status === 'queued').length).toBeLessThanOrEqual(2);
  });

  it('parks a job of a model no live worker serves, and fails it with no_worker after NO_WORKER_TIMEOUT_MS', async () => {
    const { config, base } = await start({ NO_WORKER_TIMEOUT_MS: '500', PARK_RECHECK_MS: '100' }, ['gpu-0', 'cpu-0']);
    dispatcher = await createDispatcher(config, { serveMetrics: false });
    const view = await readJob(base, await submitJob(base, { model: 'other', input: 1 }), 10);
    expect(view.status).toBe('failed');
    expect(view.error?.code).toBe('no_worker');
  });

  it('cancels a held job: the dispatcher holding it decides at once (no step aside), and it never runs', async () => {
    const { config, base } = await start();
    dispatcher = await createDispatcher(config, { serveMetrics: false });
    const [first] = await busyGpu(base);
    const second = await submitJob(base, { model: 'default', input: 2 });
    await new Promise((r) => setTimeout(r, 100));
    expect((await readJob(base, second)).status).toBe('queued');
    const asked = Date.now();
    const response = await fetch(`${base}/v1/jobs/${second}`, { method: 'DELETE' });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { status: string }).status).toBe('cancelled');
    // The holder's answer, not the end of the API's wait.
    expect(Date.now() - asked).toBeLessThan(CANCEL_WAIT_MS / 2);
    // The ingress job is completed and gone: nothing is left locked for a lock to lapse.
    const probe = createRedis(config.REDIS_URL, 'service');
    expect(await probe.exists(keySpace(config.KEY_PREFIX).jobHash(INGRESS_QUEUE, second))).toBe(0);
    await closeRedis(probe);
    expect((await readJob(base, first ?? '', 10)).status).toBe('completed');
    // Well past the API's wait (CANCEL_WAIT_MS): nobody picked it up again.
    await new Promise((r) => setTimeout(r, CANCEL_WAIT_MS + 500));
    const view = await readJob(base, second);
    expect(view.status).toBe('cancelled');
    expect(view.worker).toBeUndefined();
    expect(view.timings.startedAt).toBeUndefined();
  });

  it('honours a cancel request that arrives before the hold, for CANCEL_WAIT_MS only', async () => {
    const { config, base } = await start();
    dispatcher = await createDispatcher(config, { serveMetrics: false });
    await busyGpu(base);
    // Played by hand, as the API does it, so the request surely comes first: the id on the cancel
    // channel, then the job in ingress.
    const keys = keySpace(config.KEY_PREFIX);
    const redis = createRedis(config.REDIS_URL, 'service');
    const subscriber = createRedis(config.REDIS_URL, 'blocking');
    const messages: StatusMessage[] = [];
    subscriber.on('message', (_channel: string, text: string) => messages.push(JSON.parse(text) as StatusMessage));
    await subscribeWhenReady(subscriber, [keys.statusChannel]);
    const ingress = new Queue<JobPayload>(INGRESS_QUEUE, producerQueueOptions(redis, config.KEY_PREFIX));
    const enqueue = async (id: string): Promise<void> => {
      const payload: JobPayload = { model: 'default', input: id, priority: 'normal', createdAt: Date.now(), owner: 'anonymous' };
      await ingress.add('job', payload, ingressJobOptions(id, BULLMQ_PRIORITY.normal, config));
    };
    try {
      const early = '7d3f5a2e-0000-4000-8000-000000000001';
      await redis.publish(keys.cancelChannel, early);
      await new Promise((r) => setTimeout(r, 50));
      await enqueue(early);
      await waitFor(() => messages.some((m) => m.id === early && m.status === 'cancelled'), 2000, 'the dispatcher to cancel the job');
      const view = await readJob(base, early);
      expect(view.status).toBe('cancelled');
      expect(view.worker).toBeUndefined();
      // A request older than the API's wait has been given up on: the job runs.
      const stale = '7d3f5a2e-0000-4000-8000-000000000002';
      await redis.publish(keys.cancelChannel, stale);
      await new Promise((r) => setTimeout(r, CANCEL_WAIT_MS + 200));
      await enqueue(stale);
      expect((await readJob(base, stale, 15)).status).toBe('completed');
      expect(messages.filter((m) => m.id === stale && m.status === 'cancelled')).toEqual([]);
    } finally {
      await ingress.close();
      await Promise.all([closeRedis(redis), closeRedis(subscriber)]);
    }
  });

  it('loses no held job when the dispatcher is killed (kill -9): the next one binds them all', async () => {
    const { config, base } = await start();
    spawned = spawnApp('dispatcher', {
      REDIS_URL: config.REDIS_URL,
      KEY_PREFIX: config.KEY_PREFIX,
      FLEET_FILE: fleetFile,
      SCHED_POLICY: 'sed-late',
      LOCK_DURATION_MS: '1000',
      DISPATCHER_METRICS_PORT: '0',
    });
    await waitFor(() => spawned?.output().includes('dispatcher started') === true, 15_000, 'the dispatcher to start');
    const ids = await Promise.all([1, 2, 3, 4, 5].map((i) => submitJob(base, { model: 'default', input: i })));
    await waitFor(async () => (await Promise.all(ids.map((id) => readJob(base, id)))).some((v) => v.status === 'running'), 5000, 'a job to run');
    const held = (await Promise.all(ids.map((id) => readJob(base, id)))).filter((v) => v.status === 'queued');
    expect(held.length).toBeGreaterThanOrEqual(1);
    spawned.child.kill('SIGKILL');
    await spawned.exited;
    dispatcher = await createDispatcher(config, { serveMetrics: false });
    for (const id of ids) {
      const view = await readJob(base, id, 20);
      expect(view.status).toBe('completed');
      expect(view.attempts).toBe(1);
    }
  });

  it('on close, binds what it holds instead of leaving it locked', async () => {
    const { config, base } = await start();
    dispatcher = await createDispatcher(config, { serveMetrics: false });
    const ids = await Promise.all([1, 2, 3, 4].map((i) => submitJob(base, { model: 'default', input: i })));
    // Held = taken from ingress (active there) but not dispatched; `queued` alone would also match a
    // job the dispatcher has not fetched yet, which no dispatcher would route after the close.
    const keys = keySpace(config.KEY_PREFIX);
    const probe = createRedis(config.REDIS_URL, 'service');
    await waitFor(
      async () => {
        const [waiting, prioritized, active] = await Promise.all([
          probe.llen(keys.queueKey(INGRESS_QUEUE, 'wait')),
          probe.zcard(keys.queueKey(INGRESS_QUEUE, 'prioritized')),
          probe.llen(keys.queueKey(INGRESS_QUEUE, 'active')),
        ]);
        return waiting + prioritized === 0 && active >= 1;
      },
      5000,
      'a held job and none left to fetch',
    );
    await closeRedis(probe);
    const started = Date.now();
    await dispatcher.close();
    dispatcher = undefined;
    expect(Date.now() - started).toBeLessThan(1000);
    for (const id of ids) expect((await readJob(base, id, 20)).status).toBe('completed');
  });
});
