// The fairness run: tenant A sends 10× tenant B's rate (1.65× the fleet's capacity together), live,
// under sed and sed-late, with fair sharing on and off; B's p99 alone and shared, and what the
// scheduler adds to it. The same run as apps/cluster/test/fair-share*.test.ts (libs/testkit).
//   npx tsx --conditions=@sched/source bench/fairness.ts
//   FLEET_REFRESH_MS=200 npx tsx --conditions=@sched/source bench/fairness.ts   (the tests' refresh)
import { startLocalCluster } from '@sched/cluster';
import { loadConfig } from '@sched/core';
import { burstAgainstSteady, fairEnv, fairFleet, RedisServer } from '@sched/testkit';
import { isMainModule } from './is-main-module.js';

interface Row {
  policy: string;
  fair: boolean;
  aloneP99: number;
  sharedP99: number;
  aloneAddedP99: number;
  sharedAddedP99: number;
  bWaitP99: number;
  aWaitP99: number;
}

async function runOne(policy: 'sed' | 'sed-late', fair: boolean): Promise<Row> {
  const redis = await RedisServer.start({ appendOnly: false });
  const config = loadConfig({ REDIS_URL: redis.url, LOG_LEVEL: 'warn', API_PORT: '0', DISPATCHER_METRICS_PORT: '0', WORKER_METRICS_PORT: '0', ...fairEnv, SCHED_POLICY: policy, FAIR_SHARE: String(fair), ...(process.env.FLEET_REFRESH_MS === undefined ? {} : { FLEET_REFRESH_MS: process.env.FLEET_REFRESH_MS }) });
  const cluster = await startLocalCluster(config, { fleet: fairFleet });
  try {
    const run = await burstAgainstSteady(cluster.apiUrl);
    return { policy, fair, ...run };
  } finally {
    await cluster.close();
    await redis.stop();
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const policy of ['sed', 'sed-late'] as const) for (const fair of [true, false]) rows.push(await runOne(policy, fair));
  console.log('| policy | fair sharing | B p99 alone | B p99 shared | added by the scheduler, B p99 alone → shared | wait p99 B / A (shared) |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.policy} | ${r.fair ? 'on' : 'off'} | ${r.aloneP99} ms | ${r.sharedP99} ms | ${r.aloneAddedP99} → ${r.sharedAddedP99} ms (+${((100 * (r.sharedAddedP99 - r.aloneAddedP99)) / r.aloneP99).toFixed(0)} % of alone p99) | ${r.bWaitP99} / ${r.aWaitP99} ms |`);
  }
}

if (isMainModule(import.meta.url)) await main();
