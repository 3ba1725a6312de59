/**
 * The live dispatcher alone against N worker queues on a real redis-server: N worker
 * descriptors (the real heartbeat format, long TTL) and J jobs pre-loaded into ingress;
 * then a dispatcher drains ingress into the worker queues. Reports dispatch throughput,
 * decision latency and the cost of one fleet re-read (one ZRANGE + one pipeline over N).
 *
 *   npx tsx --conditions=@sched/source bench/dispatcher-fleet.ts [--workers 100] [--jobs 20000] [--policies sed,greedy-gpu,jsq,p2c]
 */
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import {
  BULLMQ_PRIORITY,
  INGRESS_QUEUE,
  bundledFleetPath,
  encodeDescriptor,
  keySpace,
  loadConfig,
  loadCatalog,
  type JobPayload,
  type PolicyName,
} from '@sched/core';
import { createRedis, readFleetState } from '@sched/runtime';
import { RedisServer } from '@sched/testkit';
import { createDispatcher } from '@sched/dispatcher';
import { generateFleet } from '@sched/sim';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '100' },
    jobs: { type: 'string', default: '20000' },
    policies: { type: 'string', default: 'sed,greedy-gpu,jsq,p2c' },
  },
});
const fleet = generateFleet(loadCatalog(bundledFleetPath('default')), Number(values.workers));
const jobs = Number(values.jobs);

console.log(`${fleet.workers.length} worker queues, ${jobs} jobs pre-loaded into ingress, one dispatcher (DISPATCH_CONCURRENCY 64)\n`);
console.log('| policy | dispatched jobs/s | decision p50 | decision p99 | fleet re-read p50 | fleet re-read max |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const policy of values.policies.split(',') as PolicyName[]) {
  const redis = await RedisServer.start({ appendOnly: false });
  const config = loadConfig({ REDIS_URL: redis.url, SCHED_POLICY: policy, DISPATCHER_METRICS_PORT: '0', LOG_LEVEL: 'warn', FLEET_REFRESH_MS: '1000' });
  const keys = keySpace(config.KEY_PREFIX);
  const client = createRedis(redis.url, 'service');
  const now = Date.now();
  const pipeline = client.pipeline();
  for (const w of fleet.workers) {
    const descriptor = { id: w.id, class: w.class, models: w.models, slots: w.slots, state: 'live' as const, host: 'bench', pid: 1, startedAt: now, heartbeatAt: now, serviceMs: {}, batchSize: 1, maxBatch: 1, busy: 0, costPerHour: w.costPerHour ?? 0 };
    pipeline.hset(keys.workerDescriptor(w.id), encodeDescriptor(descriptor)).pexpire(keys.workerDescriptor(w.id), 600_000).zadd(keys.fleetSet, now, w.id);
  }
  await pipeline.exec();
  const ingress = new Queue<JobPayload>(INGRESS_QUEUE, { connection: client, prefix: config.KEY_PREFIX, skipVersionCheck: true });
  const models = ['default', 'resnet50', 'bert-base', 'whisper-small'];
  for (let start = 0; start < jobs; start += 1000) {
    await ingress.addBulk(
      Array.from({ length: Math.min(1000, jobs - start) }, (_, i) => ({
        name: 'job',
        data: { model: models[(start + i) % models.length] as string, input: start + i, priority: 'normal' as const, createdAt: Date.now(), owner: 'anonymous' },
        opts: { jobId: `bench-${start + i}`, priority: BULLMQ_PRIORITY.normal, removeOnComplete: true },
      })),
    );
  }

  const started = performance.now();
  const dispatcher = await createDispatcher(config, { fleet, serveMetrics: false });
  for (;;) {
    const counts = await ingress.getJobCounts('wait', 'prioritized', 'active');
    if ((counts.wait ?? 0) + (counts.prioritized ?? 0) + (counts.active ?? 0) === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  const [p50, p99] = dispatcher.decisionMicros.percentiles([50, 99]);
  await dispatcher.close();

  const reads: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await readFleetState(client, keys);
    reads.push(performance.now() - t);
  }
  reads.sort((a, b) => a - b);
  console.log(
    `| ${policy} | ${(jobs / seconds).toFixed(0)} | ${(p50 ?? NaN).toFixed(1)} µs | ${(p99 ?? NaN).toFixed(1)} µs | ${(reads[10] ?? NaN).toFixed(2)} ms | ${(reads[19] ?? NaN).toFixed(2)} ms |`,
  );
  await ingress.close();
  client.disconnect();
  await redis.destroy();
}
