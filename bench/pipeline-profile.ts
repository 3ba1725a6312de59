/**
 * Where a job's cost goes: the cluster as three processes (api, dispatcher, worker host) on its own
 * redis-server, a closed loop of --clients clients in this process on a ~1 ms fleet (6 gpu × 50
 * slots), for --seconds. Prints jobs/s, CPU ms per job of each process (from /proc) and Redis
 * commands per job by command (INFO commandstats over the window). With --cpu-prof DIR each app
 * writes a V8 CPU profile there on exit (open it in Chrome DevTools or speedscope).
 *
 *   npx tsx --conditions=@sched/source bench/pipeline-profile.ts [--mode poll|prefer] [--clients 64] [--seconds 15] [--cpu-prof DIR] [--monitor] [--floor]
 *
 * With --floor the scheduler still runs (idle) but the load goes to the bare two-hop floor
 * (floor-pipeline.ts) on the same redis-server; the process columns are then worker, relay, api.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createClient } from '@sched/client';
import { RedisCommandStats, diffCommandStats } from '@sched/testkit';
import { cpuSeconds, startSplitCluster, tempFleetFile, ZERO_LATENCY_FLEET } from './bench-cluster.js';
import { startFloorPipeline } from './floor-pipeline.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'poll' },
    clients: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    'cpu-prof': { type: 'string' },
    /** Run the bare two-hop floor (floor-pipeline.ts) instead of the scheduler. */
    floor: { type: 'boolean', default: false },
    /** Also run MONITOR over the window and print commands per job by source (client or Lua), command and key shape. */
    monitor: { type: 'boolean', default: false },
  },
});
const clients = Number(values.clients);
const fleet = tempFleetFile('pipeline-profile', ZERO_LATENCY_FLEET);
const nodeArgs = values['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`];
const scheduler = await startSplitCluster(fleet.path, 'sed', {}, nodeArgs);
const floor = values.floor ? await startFloorPipeline(scheduler.redisUrl) : undefined;
const cluster = { ...scheduler, apiUrl: floor?.apiUrl ?? scheduler.apiUrl, pids: floor?.pids ?? scheduler.pids };
const redis = new Redis(cluster.redisUrl);
const client = createClient({ baseUrl: cluster.apiUrl, timeoutMs: 60_000 });


/** Counts MONITOR lines by source, command and key shape (ids and numbers masked) until stopped. */
async function monitorCommands(): Promise<{ stop(): Map<string, number> }> {
  const counts = new Map<string, number>();
  const monitor = await redis.monitor();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const command = String(args[0]).toLowerCase();
    const mask = (key: string): string => key.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>').replace(/gpu-\d+/g, 'gpu-N').replace(/:\d+$/, ':<n>');
    let key = mask(String(args[1] ?? ''));
    if (command === 'evalsha') key = `numkeys=${args[2]} ${mask(String(args[3] ?? ''))}`;
    if (command === 'publish') key = `${args[1]} ${/"status":"(\w+)"/.exec(String(args[2]))?.[1] ?? ''}`;
    const shape = `${source.startsWith('lua') ? 'lua' : 'cli'} ${command} ${key}`;
    counts.set(shape, (counts.get(shape) ?? 0) + 1);
  });
  return {
    stop: () => {
      monitor.disconnect();
      return counts;
    },
  };
}

async function loop(ms: number): Promise<number> {
  const until = Date.now() + ms;
  let done = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; Date.now() < until; i++) {
        const input = `${c}-${i}`;
        const view = values.mode === 'prefer' ? await client.submitAndWait({ model: 'default', input }, { timeoutS: 30 }) : await client.wait((await client.submit({ model: 'default', input })).id, { timeoutS: 30 });
        if (view.status === 'completed') done++;
      }
    }),
  );
  return done;
}

await loop(Number(values.warmup) * 1000);
const pids = { worker: cluster.pids[0] ?? 0, dispatcher: cluster.pids[1] ?? 0, api: cluster.pids[2] ?? 0, redis: cluster.redisPid, load: process.pid };
const cpuBefore = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
const stats = await RedisCommandStats.connect(scheduler.redisUrl);
const statsBefore = await stats.snapshot();
const monitored = values.monitor ? await monitorCommands() : undefined;
const started = performance.now();
const jobs = await loop(Number(values.seconds) * 1000);
const elapsed = (performance.now() - started) / 1000;
const perJobCalls = diffCommandStats(statsBefore, await stats.snapshot());
const shapes = monitored?.stop();
const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, ((cpuSeconds(pid) - (cpuBefore[k] ?? 0)) * 1000) / jobs]));

const perCommand = Object.entries(perJobCalls)
  .map(([name, calls]) => [name, calls / jobs] as const)
  .filter(([name, n]) => n > 0.01 && name !== 'info')
  .sort((a, b) => b[1] - a[1]);
const total = perCommand.reduce((sum, [, n]) => sum + n, 0);
console.log(`mode ${values.mode}, ${clients} clients: ${jobs} jobs in ${elapsed.toFixed(1)} s = ${(jobs / elapsed).toFixed(0)} jobs/s`);
console.log(`CPU ms/job: ${Object.entries(cpu).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}; cluster+redis ${(Object.entries(cpu).filter(([k]) => k !== 'load').reduce((s, [, v]) => s + v, 0)).toFixed(3)}`);
console.log(`Redis commands/job: ${total.toFixed(1)}`);
console.log(perCommand.map(([name, n]) => `  ${name.padEnd(24)} ${n.toFixed(2)}`).join('\n'));

if (shapes !== undefined) {
  console.log('MONITOR (source command key-shape: per job):');
  for (const [shape, n] of [...shapes].sort((a, b) => b[1] - a[1])) if (n / jobs >= 0.01) console.log(`  ${(n / jobs).toFixed(2).padStart(6)}  ${shape}`);
}

await client.close();
redis.disconnect();
stats.close();
await floor?.close();
await cluster.close();
fleet.remove();
