import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGRESS_QUEUE, keySpace, type JobPayload, type KeySpace } from '@sched/core';
import { closeRedis, createLogger, createRedis, ingressJobOptions, producerQueueOptions } from '@sched/runtime';
import { useRedis } from '@sched/testkit/fixtures';
import type { Redis } from 'ioredis';
import { IngressWaiting } from '../src/ingress-waiting.js';

// Real Redis, real BullMQ ingress queue; the listing index written as the API writes it (one ZADD per model key).

const redisFixture = useRedis();
const logger = createLogger('test', 'silent');
let redis: Redis;

beforeAll(() => {
  redis = createRedis(redisFixture.url, 'service');
});
afterAll(async () => {
  await closeRedis(redis);
});

function payload(model: string): JobPayload {
  return { model, input: 1, priority: 'normal', createdAt: Date.now(), owner: 'anonymous' };
}

/** An ingress queue of its own prefix, and a way to submit jobs as the API does (job + index entry). */
function setup(): { keys: KeySpace; ingress: Queue<JobPayload>; submit: (id: string, model: string, indexed?: boolean) => Promise<void> } {
  const config = redisFixture.config();
  const keys = keySpace(config.KEY_PREFIX);
  const ingress = new Queue<JobPayload>(INGRESS_QUEUE, producerQueueOptions(redis, config.KEY_PREFIX));
  const submit = async (id: string, model: string, indexed = true): Promise<void> => {
    await ingress.add('job', payload(model), ingressJobOptions(id, 2, config));
    if (indexed) await redis.zadd(keys.jobIndexByModel(model), Date.now(), id);
  };
  return { keys, ingress, submit };
}

describe('IngressWaiting', () => {
  it('counts waiting, held (active) and parked (delayed) ingress jobs by model, from their index entries', async () => {
    const { keys, ingress, submit } = setup();
    for (let i = 0; i < 3; i++) await submit(`a${i}`, 'llama');
    for (let i = 0; i < 2; i++) await submit(`b${i}`, 'resnet');
    // Taken by a consumer and not finished: what `sed-late` holds.
    const consumerConnection = createRedis(redisFixture.url, 'blocking');
    const consumer = new Worker<JobPayload>(INGRESS_QUEUE, null, { connection: consumerConnection, prefix: keys.prefix });
    const held = await consumer.getNextJob('token-1');
    expect(held).toBeDefined();
    // Parked: back in `delayed` for a while.
    await held?.moveToDelayed(Date.now() + 60_000, 'token-1');
    const taken = await consumer.getNextJob('token-2');
    expect(taken).toBeDefined();
    // Without an index entry (its index write failed): no model to count it under.
    await submit('stray', 'llama', false);
    const waiting = new IngressWaiting({ redis, keys, models: ['llama', 'resnet', 'whisper'], logger });
    expect(Object.fromEntries(await waiting.read())).toEqual({ llama: 3, resnet: 2, whisper: 0 });
    expect(await ingress.getJobCountByTypes('prioritized', 'active', 'delayed')).toBe(6);
    await consumer.close();
    await closeRedis(consumerConnection);
    await ingress.close();
  });

  it('past the sample size, scales the model mix of the first jobs to the count of each state', async () => {
    const { keys, ingress, submit } = setup();
    for (let i = 0; i < 30; i++) await submit(`j${i}`, i % 3 === 0 ? 'resnet' : 'llama');
    const waiting = new IngressWaiting({ redis, keys, models: ['llama', 'resnet'], sampleSize: 9, logger });
    // The first 9 taken (same priority: submission order) are 6 llama and 3 resnet, scaled by 30/9.
    expect(Object.fromEntries(await waiting.read())).toEqual({ llama: 20, resnet: 10 });
    await ingress.close();
  });

  it('keeps the last counts when a read fails, and reads again on the next refresh', async () => {
    const { keys, ingress, submit } = setup();
    await submit('x', 'llama');
    const broken = createRedis(redisFixture.url, 'service');
    const waiting = new IngressWaiting({ redis: broken, keys, models: ['llama'], logger });
    await waiting.refresh();
    expect(Object.fromEntries(waiting.latest())).toEqual({ llama: 1 });
    await closeRedis(broken);
    await waiting.refresh();
    expect(Object.fromEntries(waiting.latest())).toEqual({ llama: 1 });
    await ingress.close();
  });
});
