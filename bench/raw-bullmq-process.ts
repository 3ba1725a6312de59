/**
 * Raw BullMQ, one hop, as a process of its own: the floor the throughput benchmark compares with.
 *
 * - `producer`: adds jobs (`queue.add`, one at a time, --in-flight adds outstanding) as fast as it
 *   can while the queue's waiting list stays under --backlog (read every 20 ms): a saturating
 *   producer that never lets the worker starve nor the backlog grow without bound. Runs until SIGTERM.
 * - `worker`: one Worker with --concurrency slots whose processor waits --service-ms (a timer, as
 *   the scheduler's simulated workers do). Emits `window-start` after --warmup s counted from its
 *   first job and `window-end` (jobs completed in the window) --window s later, then closes.
 *
 * Jobs are removed on completion (as the scheduler's ingress hop does); every other option is
 * BullMQ's default (its event stream included).
 *
 *   npx tsx --conditions=@sched/source bench/raw-bullmq-process.ts worker --redis URL [--concurrency 300 --service-ms 1]
 *   npx tsx --conditions=@sched/source bench/raw-bullmq-process.ts producer --redis URL [--backlog 2000]
 */
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { emitEvent, exitWithError } from './bench-child.js';

/** Key prefix of the raw queue, apart from the scheduler's keys on the same redis-server. */
const RAW_PREFIX = 'rawbench';
const RAW_QUEUE = 'one-hop';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    redis: { type: 'string' },
    concurrency: { type: 'string', default: '300' },
    'service-ms': { type: 'string', default: '1' },
    backlog: { type: 'string', default: '2000' },
    'in-flight': { type: 'string', default: '64' },
    warmup: { type: 'string', default: '2' },
    window: { type: 'string', default: '10' },
  },
});
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
if (values.redis === undefined) exitWithError('--redis: expected the redis URL');
const connection = { url: values.redis, maxRetriesPerRequest: null };

async function produce(): Promise<void> {
  const queue = new Queue(RAW_QUEUE, { connection, prefix: RAW_PREFIX, skipVersionCheck: true });
  await queue.waitUntilReady();
  let running = true;
  let waiting = 0;
  const onSignal = (): void => {
    running = false;
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const watch = (async () => {
    while (running) {
      waiting = await queue.getWaitingCount();
      await sleep(20);
    }
  })();
  emitEvent('ready');
  const backlog = Number(values.backlog);
  let n = 0;
  await Promise.all(
    Array.from({ length: Number(values['in-flight']) }, async () => {
      while (running) {
        if (waiting >= backlog) await sleep(2);
        else await queue.add('job', { n: n++ }, { removeOnComplete: true });
      }
    }),
  );
  await watch;
  await queue.close();
}

async function consume(): Promise<void> {
  const serviceMs = Number(values['service-ms']);
  let completed = 0;
  let firstJob: (() => void) | undefined;
  const started = new Promise<void>((resolve) => (firstJob = resolve));
  const worker = new Worker(
    RAW_QUEUE,
    async () => {
      firstJob?.();
      await sleep(serviceMs);
      completed++;
    },
    { connection, prefix: RAW_PREFIX, concurrency: Number(values.concurrency) },
  );
  await worker.waitUntilReady();
  emitEvent('ready');
  await started;
  await sleep(Number(values.warmup) * 1000);
  const before = completed;
  const t0 = performance.now();
  emitEvent('window-start');
  await sleep(Number(values.window) * 1000);
  emitEvent('window-end', { jobs: completed - before, seconds: (performance.now() - t0) / 1000 });
  await worker.close(true);
  emitEvent('done');
}

const [role] = positionals;
if (role === 'producer') await produce();
else if (role === 'worker') await consume();
else exitWithError(`expected the role producer or worker, got "${role ?? ''}"`);
