import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySpace, type JobPayload } from '@sched/core';
import { RedisErrorLog, closeRedis, createLogger, createRedis, type JobReader, type WebhookOutbox } from '@sched/runtime';
import { useRedis } from '@sched/testkit/fixtures';
import { RedisDispatchStore } from '../src/dispatch-store.js';
import { WorkerQueues } from '../src/worker-queues.js';

// The send path against a real Redis that refuses writes (maxmemory reached under noeviction).

const redisFixture = useRedis();
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

describe('RedisDispatchStore.send while Redis is out of memory', () => {
  it('rejects with the OOM error and leaves no promise rejected unhandled; once memory is back it sends', async () => {
    const config = redisFixture.config();
    const keys = keySpace(config.KEY_PREFIX);
    const redis = createRedis(redisFixture.url, 'service');
    const admin = createRedis(redisFixture.url, 'service');
    const workerQueues = new WorkerQueues({ connection: redis, prefix: config.KEY_PREFIX, redisErrors: new RedisErrorLog(createLogger('test', 'silent')) });
    const store = new RedisDispatchStore({
      config,
      keys,
      redis,
      workerQueues,
      reader: {} as Pick<JobReader, 'readOwned'>,
      outbox: {} as Pick<WebhookOutbox, 'reserve' | 'release'>,
      publish: () => undefined,
      fair: null,
    });
    const payload: JobPayload = { model: 'default', input: 1, priority: 'normal', createdAt: Date.now(), owner: 'anonymous' };
    try {
      // The worker queue's scripts are loaded first: a script load is itself refused when full.
      await store.send('warm', payload, { workerId: 'gpu-0', dispatchedAt: Date.now() });
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      await expect(store.send('job-1', payload, { workerId: 'gpu-0', dispatchedAt: Date.now() })).rejects.toThrow(/OOM/);
      await sleep(100);
      expect(unhandled).toEqual([]);
      // Nothing of it was written: the job is not in the worker's queue without its route.
      expect(await redis.exists(keys.route('job-1'), keys.jobHash('worker.gpu-0', 'job-1'))).toBe(0);
      await admin.config('SET', 'maxmemory', '0');
      await store.send('job-1', payload, { workerId: 'gpu-0', dispatchedAt: Date.now() });
      expect(await redis.get(keys.route('job-1'))).toBe('gpu-0');
      expect(await redis.exists(keys.jobHash('worker.gpu-0', 'job-1'))).toBe(1);
    } finally {
      await admin.config('SET', 'maxmemory', '0').catch(() => undefined);
      await workerQueues.close();
      await Promise.all([closeRedis(redis), closeRedis(admin)]);
    }
  });
});
