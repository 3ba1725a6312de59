import { randomUUID } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGRESS_QUEUE, keySpace, parseCatalog, workerQueueName, type Config, type JobPayload, type KeySpace } from '@sched/core';
import { DeadWorkerRecovery } from '@sched/dispatcher';
import { JobReader, closeRedis, createRedis, producerQueueOptions, workerJobOptions } from '@sched/runtime';
import { waitFor } from '@sched/testkit';
import { useRedis } from '@sched/testkit/fixtures';

const catalog = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });
const redis = useRedis();
let config: Config;
let keys: KeySpace;
let connection: Redis;
let ingressQueue: Queue<JobPayload>;
let workerQueue: Queue<JobPayload>;
let reader: JobReader;

beforeAll(() => {
  config = redis.config();
  keys = keySpace(config.KEY_PREFIX);
  connection = createRedis(config.REDIS_URL, 'service');
  ingressQueue = new Queue<JobPayload>(INGRESS_QUEUE, producerQueueOptions(connection, config.KEY_PREFIX));
  workerQueue = new Queue<JobPayload>(workerQueueName('gpu-0'), producerQueueOptions(connection, config.KEY_PREFIX));
  reader = new JobReader(connection, keys, () => 'gpu', catalog.models);
});
afterAll(async () => {
  await Promise.all([ingressQueue.close(), workerQueue.close()]);
  await closeRedis(connection);
});

/** A job routed to gpu-0 as the dispatcher routes one: its route, then the job in gpu-0's queue. */
async function routedToGpu0(): Promise<string> {
  const id = randomUUID();
  await connection.set(keys.route(id), 'gpu-0');
  await workerQueue.add('job', { model: 'default', input: id, priority: 'normal', createdAt: Date.now(), dispatchedAt: Date.now(), owner: 'anonymous' }, workerJobOptions(id, 2, config));
  return id;
}

/** The messages a recovery logged, to wait for the end of its pass. */
const logged: string[] = [];
const recordingLogger = { info: (_fields: object, message: string) => void logged.push(message), warn: (_fields: object, message: string) => void logged.push(message) };

function recovery(ingress: Pick<Queue<JobPayload>, 'add'>): DeadWorkerRecovery {
  return new DeadWorkerRecovery({ config, keys, redis: connection, ingress, reader, workerQueue: () => workerQueue, publish: () => undefined, logger: recordingLogger });
}

const deadGpu0 = [{ id: 'gpu-0', descriptor: null, lastSeenAt: 0, waiting: 1, active: 0, activeIds: [], delayed: 0 }];

describe('dead-worker recovery while the worker returns', () => {
  it('sends a job back again when it was routed to its returning worker before its removal from there', async () => {
    const id = await routedToGpu0();
    let routedBack = false;
    // The dispatcher, the instant the job is back in ingress: gpu-0 has just returned, so the job is
    // routed to it again. BullMQ ignores that add (the job is still in gpu-0's queue) and the ingress
    // job completes (removed): then the recovery removes the job from gpu-0's queue.
    const ingress = {
      add: async (name: string, data: JobPayload, options: JobsOptions) => {
        const job = await ingressQueue.add(name, data, options);
        if (!routedBack) {
          routedBack = true;
          await connection.set(keys.route(id), 'gpu-0');
          await workerQueue.add('job', { ...data, dispatchedAt: Date.now() }, workerJobOptions(id, 2, config));
          await job.remove();
        }
        return job;
      },
    };
    recovery(ingress).check(deadGpu0, Date.now());
    await waitFor(async () => (await workerQueue.getJob(id)) === undefined, 5000, 'the job to leave gpu-0');
    await waitFor(async () => (await reader.read(id)) !== null, 2000, 'the job to be found again');
    expect((await reader.read(id))?.status).toBe('queued');
    expect(await ingressQueue.getJob(id)).toBeDefined();
  });

  it('leaves the jobs to a worker that is back before they are moved', async () => {
    const id = await routedToGpu0();
    await connection.set(keys.workerDescriptor('gpu-0'), 'back', 'PX', 5000);
    let added = 0;
    logged.length = 0;
    recovery({ add: (...args) => ((added += 1), ingressQueue.add(...args)) }).check(deadGpu0, Date.now());
    // The pass has looked at the worker and stopped (not merely not reached the job yet).
    await waitFor(() => logged.includes('dead worker is back; it takes its remaining jobs itself'), 5000, 'the recovery to see gpu-0 back');
    expect(added).toBe(0);
    expect(await workerQueue.getJob(id)).toBeDefined();
    await connection.del(keys.workerDescriptor('gpu-0'));
  });
});
