/**
 * Detection-to-running of a worker's queued jobs when its host goes away: `kill -9` (the jobs wait
 * for its descriptor to expire, 3 × HEARTBEAT_MS, then DEAD_WORKER_GRACE_MS; the jobs it was
 * running for their locks, LOCK_DURATION_MS) and a drain (SIGTERM: the `draining` event). Two
 * dispatchers and the worker hosts are processes on their own redis-server, with the default
 * timers (HEARTBEAT_MS 1000, FLEET_REFRESH_MS 1000, LOCK_DURATION_MS 5000). Per round: gpu-0
 * (2 slots) gets a burst of jobs of 500 ms, gpu-1 (64 slots) starts, gpu-0's host is killed or
 * drained; the times are from the signal to each stranded job's `running` on gpu-1 (its status
 * message).
 *
 *   npx tsx --conditions=@sched/source bench/hand-over.ts [--jobs 60] [--rounds 2]
 */
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { BULLMQ_PRIORITY, INGRESS_QUEUE, keySpace, type JobPayload, type StatusMessage } from '@sched/core';
import { ingressJobOptions } from '@sched/runtime';
import { percentile } from '@sched/sim';
import { RedisServer, spawnApp, waitFor, type SpawnedApp } from '@sched/testkit';
import { tempFleetFile } from './bench-cluster.js';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '60' }, rounds: { type: 'string', default: '2' } } });
const jobs = Number(values.jobs);
const rounds = Number(values.rounds);
const fleetFile = tempFleetFile('hand-over', {
  models: { default: { gpu: { p50Ms: 500, p99Ms: 500 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 2 },
    { id: 'gpu-1', class: 'gpu', slots: 64 },
  ],
});

interface Scenario {
  readonly name: string;
  readonly signal: 'SIGKILL' | 'SIGTERM';
  readonly graceMs: number;
}
const SCENARIOS: readonly Scenario[] = [
  { name: 'kill -9', signal: 'SIGKILL', graceMs: 0 },
  { name: 'kill -9, DEAD_WORKER_GRACE_MS 15000 (the former default)', signal: 'SIGKILL', graceMs: 15_000 },
  { name: 'drain (SIGTERM)', signal: 'SIGTERM', graceMs: 0 },
];

interface RoundResult {
  /** Signal → gpu-0's descriptor gone (kill) or its `draining` event seen (drain), ms. */
  readonly detectedMs: number;
  /** Signal → `running` on gpu-1, ms, for the jobs gpu-0 had not started. */
  readonly waiting: number[];
  /** The same for the jobs gpu-0 was running when killed (they run again elsewhere). */
  readonly active: number[];
}

const redis = await RedisServer.start({ appendOnly: false });
const admin = new Redis(redis.url);
const subscriber = new Redis(redis.url);
const started: SpawnedApp[] = [];

async function start(app: 'dispatcher' | 'worker', env: Record<string, string>): Promise<SpawnedApp> {
  const spawned = spawnApp(app, { REDIS_URL: redis.url, FLEET_FILE: fleetFile.path, DISPATCHER_METRICS_PORT: '0', WORKER_METRICS_PORT: '0', LOG_LEVEL: 'info', ...env });
  started.push(spawned);
  await waitFor(() => spawned.output().includes(app === 'worker' ? 'worker host started' : 'dispatcher started'), 120_000, `${app} to start`);
  return spawned;
}

async function round(scenario: Scenario, index: number): Promise<RoundResult> {
  const prefix = `ho${index}`;
  const keys = keySpace(prefix);
  const env = { KEY_PREFIX: prefix, DEAD_WORKER_GRACE_MS: String(scenario.graceMs) };
  const messages: { at: number; message: StatusMessage }[] = [];
  const fleetEvents: { at: number; event: string }[] = [];
  const onMessage = (channel: string, text: string): void => {
    if (channel === keys.statusChannel) messages.push({ at: Date.now(), message: JSON.parse(text) as StatusMessage });
    else if (channel === keys.fleetChannel) fleetEvents.push({ at: Date.now(), event: (JSON.parse(text) as { event: string }).event });
  };
  subscriber.on('message', onMessage);
  await subscriber.subscribe(keys.statusChannel, keys.fleetChannel);
  const apps = [await start('dispatcher', env), await start('dispatcher', env)];
  const doomed = await start('worker', { ...env, WORKER_IDS: 'gpu-0' });

  const ingress = new Queue<JobPayload>(INGRESS_QUEUE, { connection: admin, prefix, skipVersionCheck: true });
  const ids = Array.from({ length: jobs }, (_, i) => `r${index}-${i}`);
  await ingress.addBulk(
    ids.map((id, i) => ({
      name: 'job',
      data: { model: 'default', input: i, priority: 'normal', createdAt: Date.now(), owner: 'anonymous' },
      opts: ingressJobOptions(id, BULLMQ_PRIORITY.normal, { RESULT_TTL_S: 600 }),
    })),
  );
  const count = (status: string, worker: string): number => messages.filter(({ message }) => message.status === status && message.worker === worker).length;
  await waitFor(() => count('dispatched', 'gpu-0') >= jobs && count('running', 'gpu-0') >= 2, 60_000, 'the burst to reach gpu-0');
  apps.push(await start('worker', { ...env, WORKER_IDS: 'gpu-1' }));

  const runningOnGpu0 = new Set(messages.filter(({ message }) => message.status === 'running' && message.worker === 'gpu-0').map(({ message }) => message.id));
  const signalAt = Date.now();
  doomed.child.kill(scenario.signal);
  let detectedAt = 0;
  const stranded = scenario.signal === 'SIGKILL' ? ids.filter((id) => !messages.some(({ message }) => message.id === id && message.status === 'completed')) : ids.filter((id) => !runningOnGpu0.has(id));
  await waitFor(
    async () => {
      if (detectedAt === 0) {
        const gone = scenario.signal === 'SIGKILL' ? (await admin.exists(keys.workerDescriptor('gpu-0'))) === 0 : fleetEvents.some((e) => e.event === 'draining');
        if (gone) detectedAt = scenario.signal === 'SIGKILL' ? Date.now() : (fleetEvents.find((e) => e.event === 'draining')?.at ?? Date.now());
      }
      const running = new Set(messages.filter(({ message }) => message.status === 'running' && message.worker === 'gpu-1').map(({ message }) => message.id));
      return stranded.every((id) => running.has(id));
    },
    60_000,
    'the stranded jobs to run on gpu-1',
  );
  const startOnGpu1 = (id: string): number => (messages.find(({ message }) => message.id === id && message.status === 'running' && message.worker === 'gpu-1')?.at ?? NaN) - signalAt;
  const result: RoundResult = {
    detectedMs: detectedAt - signalAt,
    waiting: stranded.filter((id) => !runningOnGpu0.has(id)).map(startOnGpu1),
    active: stranded.filter((id) => runningOnGpu0.has(id)).map(startOnGpu1),
  };
  for (const app of [...apps, doomed]) app.child.kill('SIGTERM');
  await Promise.all([...apps, doomed].map((app) => app.exited));
  await ingress.close();
  subscriber.off('message', onMessage);
  await subscriber.unsubscribe(keys.statusChannel, keys.fleetChannel);
  return result;
}

const ms = (xs: readonly number[], p: number): string => (xs.length === 0 ? '–' : `${Math.round(percentile(Float64Array.from(xs).sort(), p))}`);
console.log(`${jobs} jobs of 500 ms on gpu-0 (2 slots); two dispatchers; gpu-1 (64 slots) takes them over; ${rounds} rounds per scenario\n`);
console.log('| scenario | round | detected (ms) | waiting jobs: first / p50 / last running (ms) | jobs it was running: running again (ms) |');
console.log('|---|---:|---:|---|---|');
let index = 0;
try {
  for (const scenario of SCENARIOS) {
    for (let r = 0; r < rounds; r++) {
      const result = await round(scenario, index++);
      const active = result.active.length === 0 ? '– (finished on gpu-0)' : result.active.map((x) => Math.round(x)).join(', ');
      console.log(`| ${scenario.name} | ${r + 1} | ${result.detectedMs} | ${ms(result.waiting, 0)} / ${ms(result.waiting, 50)} / ${ms(result.waiting, 100)} (${result.waiting.length} jobs) | ${active} |`);
    }
  }
} finally {
  for (const app of started) app.child.kill('SIGKILL');
  admin.disconnect();
  subscriber.disconnect();
  fleetFile.remove();
  await redis.destroy();
}
