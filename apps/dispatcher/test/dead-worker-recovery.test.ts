import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INGRESS_QUEUE, encodeDescriptor, keySpace, parseCatalog, workerQueueName, type Config, type JobPayload, type KeySpace, type WorkerState } from '@sched/core';
import { JobReader, StrandedJobs, closeRedis, consumerOptions, createRedis, producerQueueOptions, workerJobOptions, type WorkerQueueState } from '@sched/runtime';
import { useRedis } from '@sched/testkit/fixtures';
import { DeadWorkerRecovery } from '../src/dead-worker-recovery.js';

// Taking back a worker's jobs against a real redis-server: what several dispatchers doing it at
// once leave behind, what a live or draining worker keeps, and a dispatcher dying mid-way.

const catalog = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });
const redisFixture = useRedis();
let config: Config;
let keys: KeySpace;
let connections: Redis[] = [];
let ingress: Queue<JobPayload>;
let workerQueue: Queue<JobPayload>;
let reader: JobReader;

function connect(): Redis {
  const connection = createRedis(redisFixture.url, 'service');
  connections.push(connection);
  return connection;
}

beforeAll(() => {
  config = redisFixture.config();
  keys = keySpace(config.KEY_PREFIX);
  const connection = connect();
  ingress = new Queue<JobPayload>(INGRESS_QUEUE, producerQueueOptions(connection, config.KEY_PREFIX));
  workerQueue = new Queue<JobPayload>(workerQueueName('gpu-0'), producerQueueOptions(connection, config.KEY_PREFIX));
  reader = new JobReader(connection, keys, () => 'gpu', catalog.models);
});
afterEach(async () => {
  await Promise.all([ingress.obliterate({ force: true }), workerQueue.obliterate({ force: true })]);
  await connections[0]?.del(keys.workerDescriptor('gpu-0'), keys.recovering('gpu-0'));
});
afterAll(async () => {
  await Promise.all([ingress.close(), workerQueue.close()]);
  await Promise.all(connections.map((c) => closeRedis(c)));
  connections = [];
});

/** Jobs routed to gpu-0 as the dispatcher routes them: the route, then the job in gpu-0's queue. */
async function routedToGpu0(count: number, extra: Partial<JobPayload> = {}): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  const pipeline = connections[0]?.pipeline();
  for (const id of ids) pipeline?.set(keys.route(id), 'gpu-0');
  await pipeline?.exec();
  await workerQueue.addBulk(
    ids.map((id, i) => ({
      name: 'job',
      data: { model: 'default', input: i, priority: 'normal', createdAt: Date.now(), dispatchedAt: Date.now(), owner: 'anonymous', ...extra },
      opts: workerJobOptions(id, 2, config),
    })),
  );
  return ids;
}

/** gpu-0 takes `count` jobs (active, locked) as its BullMQ worker would; `expireLocks` then drops their locks, as a kill -9 does after LOCK_DURATION_MS. */
async function takeJobs(count: number, expireLocks: boolean): Promise<string[]> {
  const consumer = new Worker<JobPayload>(workerQueueName('gpu-0'), null, consumerOptions(connect(), config.KEY_PREFIX, { lockDuration: 60_000 }));
  const taken: string[] = [];
  for (let i = 0; i < count; i++) {
    const job = await consumer.getNextJob(`token-${i}`);
    if (job?.id !== undefined) taken.push(job.id);
  }
  await consumer.close(true);
  if (expireLocks) for (const id of taken) await connections[0]?.del(keys.jobLock(workerQueueName('gpu-0'), id));
  return taken;
}

async function describeGpu0(state: WorkerState): Promise<void> {
  const now = Date.now();
  const descriptor = { id: 'gpu-0', class: 'gpu', models: ['default'], slots: 1, state, host: 'test', pid: 1, startedAt: now, heartbeatAt: now, serviceMs: {}, batchSize: 1, maxBatch: 1, busy: 0, costPerHour: 0 };
  await connections[0]?.hset(keys.workerDescriptor('gpu-0'), encodeDescriptor(descriptor));
}

interface Dispatcher {
  readonly recovery: DeadWorkerRecovery;
  readonly stranded: StrandedJobs;
  readonly added: string[];
  readonly rerouted: string[];
  readonly queued: string[];
}

/** One dispatcher's recovery, on its own connection, recording what it sent back. */
function dispatcher(options: { claimLeaseMs?: number } = {}): Dispatcher {
  const connection = connect();
  const stranded = new StrandedJobs(connection, keys);
  const own = new Queue<JobPayload>(INGRESS_QUEUE, producerQueueOptions(connection, config.KEY_PREFIX));
  const added: string[] = [];
  const rerouted: string[] = [];
  const queued: string[] = [];
  const recovery = new DeadWorkerRecovery({
    config: { ...config, DEAD_WORKER_GRACE_MS: 0 },
    stranded,
    ingress: { addBulk: (jobs) => (added.push(...jobs.map((job) => job.opts?.jobId ?? '')), own.addBulk(jobs)) },
    metrics: { rerouted: { inc: (labels) => void rerouted.push(`${labels.reason}/${labels.state}`) } },
    publish: (message) => void queued.push(message.id),
    logger: { info: () => undefined, warn: () => undefined },
    ...options,
  });
  return { recovery, stranded, added, rerouted, queued };
}

/** gpu-0 as a fleet read shows it. */
function gpu0(descriptorState: WorkerState | null, load: { waiting: number; active?: number }): WorkerQueueState[] {
  const descriptor = descriptorState === null ? null : { id: 'gpu-0', class: 'gpu', models: ['default'], slots: 1, state: descriptorState, host: 't', pid: 1, startedAt: 0, heartbeatAt: 0, serviceMs: {}, batchSize: 1, maxBatch: 1, busy: 0, costPerHour: 0 };
  return [{ id: 'gpu-0', descriptor, lastSeenAt: 0, waiting: load.waiting, active: load.active ?? 0, activeIds: [], delayed: 0 }];
}

async function ingressPayloads(): Promise<Map<string, JobPayload>> {
  const jobs = await ingress.getJobs(['wait', 'prioritized', 'active', 'delayed']);
  return new Map(jobs.map((job) => [job.id ?? '', job.data]));
}

describe('taking back the jobs of a dead worker', () => {
  it('with three dispatchers at once, sends each job back exactly once, with the executions it had', async () => {
    const waiting = await routedToGpu0(300);
    const ran = await takeJobs(2, true);
    const running = await takeJobs(1, false);
    const dispatchers = [dispatcher(), dispatcher(), dispatcher()];
    for (const d of dispatchers) d.recovery.check(gpu0(null, { waiting: 297, active: 3 }), Date.now());
    await Promise.all(dispatchers.map((d) => d.recovery.idle()));

    const added = dispatchers.flatMap((d) => d.added);
    const expected = waiting.filter((id) => !running.includes(id));
    expect(added.length).toBe(expected.length);
    expect(new Set(added)).toEqual(new Set(expected));
    // Each job was sent back by one dispatcher, and announced by that one only.
    expect(dispatchers.flatMap((d) => d.queued).sort()).toEqual([...expected].sort());
    const payloads = await ingressPayloads();
    expect(payloads.size).toBe(expected.length);
    for (const id of ran) expect(payloads.get(id)?.priorAttempts).toBe(1);
    expect(payloads.get(expected.find((id) => !ran.includes(id)) ?? '')?.priorAttempts).toBe(0);
    expect(payloads.get(ran[0] ?? '')?.dispatchedAt).toBeUndefined();
    const counted = dispatchers.flatMap((d) => d.rerouted);
    expect(counted.filter((c) => c === 'worker_gone/active').length).toBe(2);
    expect(counted.filter((c) => c === 'worker_gone/waiting').length).toBe(297);
    // The job still locked (its worker may be finishing it) stays; nothing is left half-moved.
    expect((await workerQueue.getJobs(['active'])).map((job) => job.id)).toEqual(running);
    expect(await connections[0]?.hlen(keys.recovering('gpu-0'))).toBe(0);
  });

  it('reads a job in the middle of its move as queued, with its executions so far', async () => {
    const [id = ''] = await routedToGpu0(1, { priorAttempts: 2 });
    await takeJobs(1, true);
    const claimed = await dispatcher().stranded.claim('gpu-0', [id]);
    expect(claimed.map((job) => job.payload.priorAttempts)).toEqual([3]);
    const view = await reader.read(id);
    expect(view?.status).toBe('queued');
    expect(view?.attempts).toBe(3);
    // The worker queue no longer holds it: routed back there (its worker returned), it is a new job, not an ignored add.
    await workerQueue.add('job', { ...(claimed[0]?.payload as JobPayload), dispatchedAt: Date.now() }, workerJobOptions(id, 2, config));
    expect((await reader.read(id))?.status).toBe('dispatched');
  });
});

describe('a job whose dispatcher has not finished its ingress job', () => {
  it('is left in the worker queue until the ingress job is gone, then sent back (an add while it is there would be ignored)', async () => {
    const [id = ''] = await routedToGpu0(1);
    // The routing dispatcher's ingress job, not yet completed (it is removed on completion).
    await ingress.add('job', { model: 'default', input: 0, priority: 'normal', createdAt: Date.now(), owner: 'anonymous' }, { jobId: id });
    const d = dispatcher();
    d.recovery.check(gpu0(null, { waiting: 1 }), Date.now());
    await d.recovery.idle();
    expect(d.added).toEqual([]);
    expect(await workerQueue.getJob(id)).toBeDefined();
    await (await ingress.getJob(id))?.remove();
    d.recovery.check(gpu0(null, { waiting: 1 }), Date.now());
    await d.recovery.idle();
    expect(d.added).toEqual([id]);
    expect((await ingressPayloads()).has(id)).toBe(true);
    // Its route to the dead worker is gone: taken from ingress again, it is routed afresh.
    expect(await connections[0]?.get(keys.route(id))).toBeNull();
  });
});

describe('a worker that is not dead', () => {
  it('keeps every job while its descriptor says live (it returned)', async () => {
    await routedToGpu0(5);
    await describeGpu0('live');
    const d = dispatcher();
    d.recovery.check(gpu0(null, { waiting: 5 }), Date.now());
    await d.recovery.idle();
    expect(d.added).toEqual([]);
    expect(await workerQueue.getJobCountByTypes('wait', 'prioritized')).toBe(5);
  });

  it('draining: its waiting jobs go back at once, the job it is finishing stays with it', async () => {
    const waiting = await routedToGpu0(4);
    const running = await takeJobs(1, false);
    await describeGpu0('draining');
    const dispatchers = [dispatcher(), dispatcher()];
    for (const d of dispatchers) d.recovery.handOver('gpu-0');
    await Promise.all(dispatchers.map((d) => d.recovery.idle()));
    expect(dispatchers.flatMap((d) => d.added).sort()).toEqual(waiting.filter((id) => !running.includes(id)).sort());
    expect(dispatchers.flatMap((d) => d.rerouted)).toEqual(['worker_draining/waiting', 'worker_draining/waiting', 'worker_draining/waiting']);
    expect((await workerQueue.getJobs(['active'])).map((job) => job.id)).toEqual(running);
  });
});

describe('a dispatcher that dies between its claim and the ingress add', () => {
  it('leaves a claim another dispatcher takes over once its lease has passed, and sends the job back once', async () => {
    const [id = ''] = await routedToGpu0(1);
    // The dying dispatcher: its claim, and nothing after.
    expect((await dispatcher().stranded.claim('gpu-0', [id])).map((job) => job.id)).toEqual([id]);
    const survivor = dispatcher({ claimLeaseMs: 300 });
    survivor.recovery.check(gpu0(null, { waiting: 0 }), Date.now());
    await survivor.recovery.idle();
    expect(survivor.added).toEqual([]);
    await new Promise((r) => setTimeout(r, 350));
    // A later sweep, after the lease: the job goes back; a third sweep finds nothing left.
    survivor.recovery.check(gpu0(null, { waiting: 0 }), Date.now() + 300);
    await survivor.recovery.idle();
    survivor.recovery.check(gpu0(null, { waiting: 0 }), Date.now() + 600);
    await survivor.recovery.idle();
    expect(survivor.added).toEqual([id]);
    expect((await ingressPayloads()).has(id)).toBe(true);
    expect(await connections[0]?.hlen(keys.recovering('gpu-0'))).toBe(0);
  });

  it('does not send it back again when it had reached ingress before the dispatcher died', async () => {
    const [id = ''] = await routedToGpu0(1);
    const dying = dispatcher();
    const [claimed] = await dying.stranded.claim('gpu-0', [id]);
    await ingress.add('job', claimed?.payload as JobPayload, { jobId: id });
    await new Promise((r) => setTimeout(r, 250));
    const survivor = dispatcher({ claimLeaseMs: 200 });
    survivor.recovery.check(gpu0(null, { waiting: 0 }), Date.now());
    await survivor.recovery.idle();
    expect(survivor.added).toEqual([]);
    expect(await connections[0]?.hlen(keys.recovering('gpu-0'))).toBe(0);
  });
});
