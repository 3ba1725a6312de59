/**
 * The floor the scheduler is measured against: a bare two-hop BullMQ pipeline with the same HTTP
 * front and nothing else. Three processes like the cluster's, on one redis-server:
 *
 * - `api`: Express 5, `POST /v1/jobs` (JSON body; `Prefer: wait=N` holds the answer until the job
 *   ends) and `GET /v1/jobs/:id?wait=N` (long-poll), answering the same shapes the real API does, so
 *   the same client and load process drive both. Adds to `ingress`; learns of completions on one
 *   pub/sub channel; a long-poll reads the job's hash once (it may have ended already).
 * - `relay`: one BullMQ Worker on `ingress` moving each job to one of the worker queues, round robin
 *   (no policy, no route record, no status messages but the last).
 * - `worker`: one BullMQ Worker per worker queue, a ~1 ms processor; publishes `{id, worker}` when
 *   the job completes.
 *
 * Job options as the scheduler's (priority, removal on completion), so the two hops cost what
 * the scheduler's hops cost. No validation, auth, idempotency, listing index, metrics, retries
 * policy, deadlines, cancellation, fleet view or heartbeats: what remains is the two hops and the
 * HTTP request(s), which bounds what the scheduler can reach on this machine.
 *
 *   node --import tsx bench/floor-pipeline.ts --role api|relay|worker --redis URL [--workers 6 --slots 50 --service-ms 1]
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Queue, Worker, type Job } from 'bullmq';
import express from 'express';
import { Redis } from 'ioredis';
import { BenchChild, emitEvent } from './bench-child.js';
import { isMainModule } from './is-main-module.js';

const PREFIX = 'floor';
const DONE_CHANNEL = `${PREFIX}:done`;
const PRIORITY = 2;

interface FloorJob {
  model: string;
  input: unknown;
  createdAt: number;
}

const connect = (url: string): Redis => new Redis(url, { maxRetriesPerRequest: null });
const workerQueue = (i: number): string => `worker.${i}`;

function runApi(url: string): void {
  const redis = connect(url);
  const subscriber = connect(url);
  const ingress = new Queue<FloorJob>('ingress', { connection: redis, prefix: PREFIX, skipVersionCheck: true });
  const waiters = new Map<string, Set<(worker: string) => void>>();
  // Completions seen in the last 30–60 s (two generations), so a long-poll that comes after the end finds it.
  let recent = new Map<string, string>();
  let older = new Map<string, string>();
  setInterval(() => {
    older = recent;
    recent = new Map();
  }, 30_000).unref();
  void subscriber.subscribe(DONE_CHANNEL);
  subscriber.on('message', (_channel: string, message: string) => {
    const { id, worker } = JSON.parse(message) as { id: string; worker: string };
    recent.set(id, worker);
    const set = waiters.get(id);
    if (set === undefined) return;
    waiters.delete(id);
    for (const wake of set) wake(worker);
  });
  const waitFor = (id: string, ms: number): { done: Promise<string | undefined>; cancel(): void } => {
    let wake: (worker: string | undefined) => void = () => undefined;
    const done = new Promise<string | undefined>((resolve) => (wake = resolve));
    const set = waiters.get(id) ?? new Set();
    waiters.set(id, set);
    set.add(wake);
    const timer = setTimeout(() => wake(undefined), ms);
    return {
      done,
      cancel: () => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0) waiters.delete(id);
      },
    };
  };
  const view = (id: string, hash: Record<string, string>, worker: string): unknown => ({
    id,
    status: hash.finishedOn === undefined ? 'dispatched' : 'completed',
    worker: { id: worker, class: 'gpu' },
    result: hash.returnvalue === undefined ? undefined : (JSON.parse(hash.returnvalue) as unknown),
    timings: { createdAt: new Date(Number(hash.timestamp)).toISOString() },
  });
  const finished = async (id: string, worker: string): Promise<unknown> => view(id, await redis.hgetall(`${PREFIX}:${worker}:${id}`), worker);

  const app = express();
  app.use(express.json());
  app.post('/v1/jobs', async (req, res) => {
    const body = req.body as { model: string; input: unknown };
    const id = randomUUID();
    const wait = /wait=(\d+)/.exec(req.get('prefer') ?? '');
    const watch = wait === null ? undefined : waitFor(id, Number(wait[1]) * 1000);
    await ingress.add('job', { model: body.model, input: body.input, createdAt: Date.now() }, { jobId: id, priority: PRIORITY, removeOnComplete: true });
    const worker = await watch?.done;
    watch?.cancel();
    if (worker === undefined) res.status(202).json({ id, status: 'queued', model: body.model, createdAt: new Date().toISOString() });
    else res.status(200).json(await finished(id, worker));
  });
  app.get('/v1/jobs/:id', async (req, res) => {
    const id = req.params.id;
    const watch = waitFor(id, Number(req.query.wait ?? 0) * 1000);
    // It may have ended before the watch (the completion was seen, and remembered).
    const worker = recent.get(id) ?? older.get(id) ?? (await watch.done);
    watch.cancel();
    if (worker === undefined) res.status(200).json({ id, status: 'queued', model: 'default', timings: {} });
    else res.status(200).json(await finished(id, worker));
  });
  const server = app.listen(0, '127.0.0.1', () => emitEvent('listening', { port: (server.address() as AddressInfo).port }));
  process.on('SIGTERM', () => process.exit(0));
}

function runRelay(url: string, workers: number, concurrency: number): void {
  const connection = connect(url);
  const queues = Array.from({ length: workers }, (_, i) => new Queue<FloorJob>(workerQueue(i), { connection, prefix: PREFIX, skipVersionCheck: true }));
  let next = 0;
  const relay = new Worker<FloorJob>(
    'ingress',
    async (job: Job<FloorJob>) => {
      const queue = queues[next++ % queues.length];
      await queue?.add('job', job.data, { jobId: job.id, priority: PRIORITY, removeOnComplete: { age: 3600 } });
    },
    { connection: connect(url), prefix: PREFIX, concurrency },
  );
  void relay.waitUntilReady().then(() => emitEvent('ready', {}));
  process.on('SIGTERM', () => process.exit(0));
}

function runWorkers(url: string, workers: number, slots: number, serviceMs: number): void {
  const publisher = connect(url);
  const started = Array.from({ length: workers }, (_, i) => {
    const worker = new Worker<FloorJob>(
      workerQueue(i),
      async (job: Job<FloorJob>) => {
        await new Promise((resolve) => setTimeout(resolve, serviceMs));
        return { model: job.data.model, output: 'ok' };
      },
      { connection: connect(url), prefix: PREFIX, concurrency: slots },
    );
    worker.on('completed', (job) => void publisher.publish(DONE_CHANNEL, JSON.stringify({ id: job.id, worker: workerQueue(i) })));
    return worker.waitUntilReady();
  });
  void Promise.all(started).then(() => emitEvent('ready', {}));
  process.on('SIGTERM', () => process.exit(0));
}

export interface FloorPipeline {
  /** Process ids of the worker, relay and api processes. */
  readonly pids: readonly number[];
  readonly apiUrl: string;
  close(): Promise<void>;
}

/** Starts the three processes on `redisUrl` (a fleet of `workers` × `slots` at `serviceMs`); resolves once all are ready. */
export async function startFloorPipeline(redisUrl: string, fleet: { workers: number; slots: number; serviceMs: number } = { workers: 6, slots: 50, serviceMs: 1 }): Promise<FloorPipeline> {
  const args = (role: string): string[] => ['--role', role, '--redis', redisUrl, '--workers', String(fleet.workers), '--slots', String(fleet.slots), '--service-ms', String(fleet.serviceMs)];
  const worker = new BenchChild('floor-pipeline.ts', args('worker'));
  const relay = new BenchChild('floor-pipeline.ts', args('relay'));
  const api = new BenchChild('floor-pipeline.ts', args('api'));
  await Promise.all([worker.next('ready'), relay.next('ready')]);
  const { port } = await api.next('listening');
  return {
    pids: [worker.pid, relay.pid, api.pid],
    apiUrl: `http://127.0.0.1:${String(port)}`,
    close: async () => {
      await Promise.all([api.stop(), relay.stop(), worker.stop()]);
    },
  };
}

if (isMainModule(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' },
      redis: { type: 'string' },
      workers: { type: 'string', default: '6' },
      slots: { type: 'string', default: '50' },
      'service-ms': { type: 'string', default: '1' },
    },
  });
  const url = values.redis ?? 'redis://127.0.0.1:6379';
  const workers = Number(values.workers);
  if (values.role === 'api') runApi(url);
  else if (values.role === 'relay') runRelay(url, workers, workers * Number(values.slots));
  else if (values.role === 'worker') runWorkers(url, workers, Number(values.slots), Number(values['service-ms']));
  else throw new Error('--role api|relay|worker');
}
