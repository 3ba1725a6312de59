import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  CANCEL_WAIT_MS,
  INGRESS_QUEUE,
  keySpace,
  parseCatalog,
  workerQueueName,
  type Config,
  type JobPayload,
  type JobView,
  type KeySpace,
  type StatusMessage,
} from '@sched/core';
import { closeRedis, consumerOptions, createRedis, producerQueueOptions, workerJobOptions } from '@sched/runtime';
import { RedisServer, testConfig } from '@sched/testkit';
import { createApi, type Api } from '../src/index.js';

const fleet = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });

let redis: RedisServer;
let config: Config;
let keys: KeySpace;
let api: Api;
let base: string;
let service: Redis;
let subscriber: Redis;
/** Every id published on the cancel channel, in order. */
let cancelRequests: string[] = [];
/** How the stand-in dispatcher answers a cancel request (nothing, by default). */
let answer: ((id: string) => Promise<void>) | null;

beforeAll(async () => {
  redis = await RedisServer.start({ appendOnly: false });
  config = testConfig(redis.url);
  keys = keySpace(config.KEY_PREFIX);
  api = await createApi(config, { fleet });
  base = `http://127.0.0.1:${await api.listen()}`;
  service = createRedis(redis.url, 'service');
  subscriber = createRedis(redis.url, 'blocking');
  await subscriber.subscribe(keys.cancelChannel);
  subscriber.on('message', (_channel: string, id: string) => {
    cancelRequests.push(id);
    void answer?.(id);
  });
});
afterEach(() => {
  answer = null;
  cancelRequests = [];
});
afterAll(async () => {
  await api?.close();
  await Promise.all([service, subscriber].filter((c) => c !== undefined).map((c) => closeRedis(c)));
  await redis?.destroy();
});

const submit = async (): Promise<string> => {
  const res = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'default', input: 1 }) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
};

const publishStatus = (message: StatusMessage): Promise<number> => service.publish(keys.statusChannel, JSON.stringify(message));

const timedDelete = async (id: string): Promise<{ res: Response; ms: number }> => {
  const started = performance.now();
  const res = await fetch(`${base}/v1/jobs/${id}`, { method: 'DELETE' });
  return { res, ms: performance.now() - started };
};

describe('DELETE /v1/jobs/:id of a job no one holds', () => {
  it('removes it itself and asks no dispatcher', async () => {
    const id = await submit();
    const res = await fetch(`${base}/v1/jobs/${id}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as JobView).status).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 50));
    expect(cancelRequests).toEqual([]);
  });
});

describe('DELETE /v1/jobs/:id of a job a dispatcher holds', () => {
  /** Stands in for a late-binding dispatcher: takes ingress jobs and holds them locked, never finishing. */
  let holder: Worker<JobPayload>;
  let holderConnection: Redis;
  const held = new Set<string>();
  beforeAll(() => {
    holderConnection = createRedis(redis.url, 'blocking');
    holder = new Worker<JobPayload>(
      INGRESS_QUEUE,
      (job) => {
        held.add(job.id ?? '');
        return new Promise<never>(() => undefined);
      },
      consumerOptions(holderConnection, config.KEY_PREFIX, { concurrency: 10, lockDuration: 30_000 }),
    );
  });
  afterAll(async () => {
    await holder?.close(true);
    await closeRedis(holderConnection);
  });

  /** Submits a job and waits until the stand-in dispatcher holds it (locked in ingress). */
  const submitHeld = async (): Promise<string> => {
    const id = await submit();
    const until = Date.now() + 5000;
    while (!held.has(id) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(held.has(id)).toBe(true);
    return id;
  };

  it('asks the holder once and, without an answer, gives up after CANCEL_WAIT_MS with 409', async () => {
    const id = await submitHeld();
    const { res, ms } = await timedDelete(id);
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await res.json()) as { code: string; detail: string };
    expect(problem.code).toBe('job_not_cancellable');
    expect(problem.detail).toContain(`did not let go of it within ${CANCEL_WAIT_MS} ms`);
    expect(ms).toBeGreaterThanOrEqual(CANCEL_WAIT_MS - 50);
    expect(ms).toBeLessThan(CANCEL_WAIT_MS + 1000);
    expect(cancelRequests).toEqual([id]);
  });

  it("answers with the holder's cancelled record when it lets go, and writes none of its own", async () => {
    const id = await submitHeld();
    const recorded: JobView = {
      id,
      status: 'cancelled',
      model: 'default',
      priority: 'normal',
      attempts: 0,
      timings: { createdAt: new Date().toISOString(), finishedAt: '2030-01-01T00:00:00.000Z' },
    };
    answer = async (requested) => {
      await service.set(keys.terminal(requested), JSON.stringify(recorded), 'EX', 60);
      await publishStatus({ id: requested, status: 'cancelled', at: Date.now() });
    };
    const { res, ms } = await timedDelete(id);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(recorded);
    expect(ms).toBeLessThan(1000);
    expect(JSON.parse((await service.get(keys.terminal(id))) ?? 'null')).toEqual(recorded);
    expect(cancelRequests).toEqual([id]);
  });

  it('removes the job from the worker queue the holder dispatched it to', async () => {
    const id = await submitHeld();
    const workerQueue = new Queue<JobPayload>(workerQueueName('gpu-0'), producerQueueOptions(service, config.KEY_PREFIX));
    answer = async (requested) => {
      await workerQueue.add('job', { model: 'default', input: 1, priority: 'normal', createdAt: Date.now(), owner: 'anonymous' }, workerJobOptions(requested, 2, config));
      await service.set(keys.route(requested), 'gpu-0');
      await publishStatus({ id: requested, status: 'dispatched', worker: 'gpu-0', at: Date.now(), attempt: 0 });
    };
    try {
      const { res, ms } = await timedDelete(id);
      expect(res.status).toBe(200);
      expect(((await res.json()) as JobView).status).toBe('cancelled');
      expect(ms).toBeLessThan(1000);
      expect(await workerQueue.getJob(id)).toBeUndefined();
      expect(JSON.parse((await service.get(keys.terminal(id))) ?? 'null')).toMatchObject({ id, status: 'cancelled' });
      expect(cancelRequests).toEqual([id]);
    } finally {
      await workerQueue.close();
    }
  });
});
