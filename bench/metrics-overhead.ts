/**
 * Pipeline throughput with metrics on vs off (METRICS_ENABLED), in one run, alternating rounds.
 * The cluster runs as a deployment does (api, dispatcher, worker host: three processes) on a
 * fleet with far more worker capacity than the pipeline can feed (16 gpu × 8 slots, resnet50
 * ~8 ms), so the CPU is the limit and any metric cost shows. A closed loop (--concurrency
 * clients each submitting and long-polling one job after another) keeps it saturated without
 * the open-loop pile-up that made earlier runs vary 2×. Reported per round: completed jobs/s,
 * and CPU ms per job of the three processes (/proc), the cost that sets capacity.
 *
 *   npx tsx --conditions=@sched/source bench/metrics-overhead.ts [--concurrency 64] [--seconds 15] [--rounds 3]
 */
import { parseArgs } from 'node:util';
import { closedLoop, cpuSeconds, startSplitCluster, tempFleetFile } from './bench-cluster.js';

const { values } = parseArgs({
  options: { concurrency: { type: 'string', default: '64' }, seconds: { type: 'string', default: '15' }, rounds: { type: 'string', default: '3' }, warmup: { type: 'string', default: '3' } },
});
const concurrency = Number(values.concurrency);
const seconds = Number(values.seconds);
const fleetFile = tempFleetFile('metrics-overhead', {
  models: { resnet50: { gpu: { p50Ms: 8, p99Ms: 15 } } },
  workers: Array.from({ length: 16 }, (_, i) => ({ id: `gpu-${i}`, class: 'gpu', slots: 8 })),
});
const loop = (apiUrl: string, ms: number): Promise<{ completed: number }> => closedLoop(apiUrl, { clients: concurrency, ms, model: 'resnet50' });

interface Round {
  jobsPerS: number;
  cpuMsPerJob: number;
}

const results: Record<'on' | 'off', Round[]> = { on: [], off: [] };
console.log(`closed loop, ${concurrency} clients (submit + long-poll), ${seconds} s per round after ${values.warmup} s warm-up; resnet50 on 16 gpu × 8 slots; api, dispatcher, worker host as 3 processes; 2 cores\n`);
console.log('| round | metrics | jobs/s | CPU ms per job (api + dispatcher + worker) |');
console.log('|---:|---|---:|---:|');
for (let round = 1; round <= Number(values.rounds); round++) {
  // Alternate which goes first, so a drift in the machine's load does not favour one side.
  const order = round % 2 === 1 ? (['on', 'off'] as const) : (['off', 'on'] as const);
  for (const mode of order) {
    const cluster = await startSplitCluster(fleetFile.path, 'sed', { METRICS_ENABLED: mode === 'on' ? 'true' : 'false' });
    try {
      await loop(cluster.apiUrl, Number(values.warmup) * 1000);
      const cpuBefore = cluster.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
      const started = Date.now();
      // Every job the round completed over the whole round, drain included, for jobs/s and CPU alike.
      const jobs = (await loop(cluster.apiUrl, seconds * 1000)).completed;
      const elapsed = (Date.now() - started) / 1000;
      const cpu = cluster.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - cpuBefore;
      const r = { jobsPerS: jobs / elapsed, cpuMsPerJob: (cpu * 1000) / jobs };
      results[mode].push(r);
      console.log(`| ${round} | ${mode} | ${r.jobsPerS.toFixed(1)} | ${r.cpuMsPerJob.toFixed(3)} |`);
    } finally {
      await cluster.close();
    }
  }
}
const mean = (rs: Round[], f: (r: Round) => number): number => rs.reduce((a, r) => a + f(r), 0) / rs.length;
const thr = mean(results.on, (r) => r.jobsPerS) / mean(results.off, (r) => r.jobsPerS);
const cpu = mean(results.off, (r) => r.cpuMsPerJob) / mean(results.on, (r) => r.cpuMsPerJob);
console.log(`\nthroughput ratio on / off: ${thr.toFixed(3)}; capacity ratio from CPU per job (off / on): ${cpu.toFixed(3)}`);
fleetFile.remove();
