/**
 * What the dispatcher's waiting-jobs gauge costs per fleet refresh (`IngressWaiting.read`: one
 * MULTI over the ingress queue's ids, one ZMSCORE per model) as the ingress backlog grows: the read's
 * latency and the Redis time it takes (INFO commandstats usec), on a redis-server of its own.
 *
 *   npx tsx --conditions=@sched/source bench/ingress-waiting.ts [--reads 50] [--models 5]
 */
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { INGRESS_QUEUE, keySpace, type JobPayload } from '@sched/core';
import { IngressWaiting } from '@sched/dispatcher';
import { closeRedis, createLogger, createRedis, ingressJobOptions, producerQueueOptions } from '@sched/runtime';
import { percentile } from '@sched/sim';
import { RedisServer } from '@sched/testkit';

const { values } = parseArgs({ options: { reads: { type: 'string', default: '50' }, models: { type: 'string', default: '5' } } });
const reads = Number(values.reads);
const models = Array.from({ length: Number(values.models) }, (_, i) => `model-${i}`);
const BACKLOGS = [0, 100, 1000, 10_000, 50_000];

/** Total usec Redis spent in commands so far (every `cmdstat_*` line). */
async function redisUsec(redis: ReturnType<typeof createRedis>): Promise<number> {
  const info = await redis.info('commandstats');
  return [...info.matchAll(/usec=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

const server = await RedisServer.start({ appendOnly: false });
const redis = createRedis(server.url, 'service');
const keys = keySpace('bench');
const ingress = new Queue<JobPayload>(INGRESS_QUEUE, producerQueueOptions(redis, keys.prefix));
const waiting = new IngressWaiting({ redis, keys, models, logger: createLogger('bench', 'silent') });
const config = { RESULT_TTL_S: 3600 };
const rows: string[] = [];
let added = 0;
try {
  for (const backlog of BACKLOGS) {
    for (; added < backlog; added += 500) {
      const batch = Array.from({ length: Math.min(500, backlog - added) }, (_, i) => {
        const id = `j${added + i}`;
        const model = models[(added + i) % models.length] ?? '';
        return { id, model };
      });
      await ingress.addBulk(batch.map(({ id, model }) => ({ name: 'job', data: { model, input: 1, priority: 'normal', createdAt: Date.now(), owner: 'anonymous' }, opts: ingressJobOptions(id, 2, config) })));
      const pipeline = redis.pipeline();
      for (const { id, model } of batch) pipeline.zadd(keys.jobIndexByModel(model), Date.now(), id);
      await pipeline.exec();
    }
    added = backlog;
    await waiting.read();
    const before = await redisUsec(redis);
    const ms: number[] = [];
    let counted = 0;
    for (let i = 0; i < reads; i++) {
      const t0 = performance.now();
      const counts = await waiting.read();
      ms.push(performance.now() - t0);
      counted = [...counts.values()].reduce((a, b) => a + b, 0);
    }
    const usec = ((await redisUsec(redis)) - before) / reads;
    const sorted = Float64Array.from(ms).sort();
    rows.push(`| ${backlog.toLocaleString('en')} | ${counted.toLocaleString('en')} | ${percentile(sorted, 50).toFixed(2)} | ${percentile(sorted, 99).toFixed(2)} | ${(usec / 1000).toFixed(2)} |`);
  }
  process.stdout.write(`${reads} reads per backlog, ${models.length} models, every job prioritized\n\n`);
  process.stdout.write('| jobs in ingress | counted | read p50 (ms) | read p99 (ms) | Redis time per read (ms) |\n|---|---|---|---|---|\n');
  process.stdout.write(`${rows.join('\n')}\n`);
} finally {
  await ingress.close();
  await closeRedis(redis);
  await server.destroy();
}
