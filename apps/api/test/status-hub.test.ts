import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusMessage } from '@sched/core';
import { createRedis, createLogger } from '@sched/runtime';
import { RedisServer } from '@sched/testkit';
import type { Redis } from 'ioredis';
import { StatusHub } from '../src/status-hub.js';

let redis: RedisServer;
let subscriber: Redis;
let publisher: Redis;
let hub: StatusHub;
const channel = 'test:sched:status';

beforeAll(async () => {
  redis = await RedisServer.start({ appendOnly: false });
  subscriber = createRedis(redis.url, 'blocking');
  publisher = createRedis(redis.url, 'service');
  hub = new StatusHub(subscriber, channel, createLogger('test', 'silent'));
  hub.start();
  await new Promise<void>((resolve) => {
    const check = (): void => void publisher.pubsub('NUMSUB', channel).then((r) => (Number(r[1]) > 0 ? resolve() : setTimeout(check, 10)));
    check();
  });
});
afterAll(async () => {
  subscriber?.disconnect();
  publisher?.disconnect();
  await redis?.destroy();
});

const message = (id: string, status: StatusMessage['status']): string => JSON.stringify({ id, status, at: Date.now() });

describe('StatusHub', () => {
  it('keeps a change published between the read and the wait (watch registered first)', async () => {
    const watch = hub.watch('job-a');
    // The "read" happens here; the completion lands before the caller starts waiting.
    await publisher.publish(channel, message('job-a', 'completed'));
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    const got = await watch.next(5000);
    expect(performance.now() - started).toBeLessThan(5);
    expect(got?.status).toBe('completed');
    watch.close();
  });

  it('wakes a waiter the moment its job changes, and only for its job', async () => {
    const watch = hub.watch('job-b');
    const waiting = watch.next(5000);
    await publisher.publish(channel, message('job-other', 'completed'));
    const sentAt = performance.now();
    await publisher.publish(channel, message('job-b', 'running'));
    const got = await waiting;
    expect(got?.id).toBe('job-b');
    expect(performance.now() - sentAt).toBeLessThan(50);
    watch.close();
    expect(hub.waiting).toBe(0);
  });

  it('times out with undefined when nothing happens', async () => {
    const watch = hub.watch('job-c');
    expect(await watch.next(30)).toBeUndefined();
    watch.close();
  });
});
