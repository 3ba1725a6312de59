/**
 * Pipeline throughput with metrics on vs off (METRICS_ENABLED), in one run, alternating:
 * a fleet with far more worker capacity than the pipeline can feed (16 gpu × 8 slots,
 * resnet50 ~8 ms), so the one-process cluster's CPU is the limit and any metric cost shows.
 *
 *   npx tsx --conditions=@sched/source bench/metrics-overhead.ts [--rate 400] [--duration 10] [--rounds 2]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runLoadClient, startBenchCluster } from './bench-cluster.js';

const { values } = parseArgs({
  options: { rate: { type: 'string', default: '400' }, duration: { type: 'string', default: '10' }, rounds: { type: 'string', default: '2' } },
});
const dir = mkdtempSync(join(tmpdir(), 'metrics-overhead-'));
const fleetPath = join(dir, 'fleet.json');
writeFileSync(
  fleetPath,
  JSON.stringify({
    models: { resnet50: { gpu: { p50Ms: 8, p99Ms: 15 } } },
    workers: Array.from({ length: 16 }, (_, i) => ({ id: `gpu-${i}`, class: 'gpu', slots: 8 })),
  }),
);

interface Report {
  completed: number;
  throughputPerS: number;
  latencyMs: { p50: number; p99: number };
}
const results: Record<'on' | 'off', Report[]> = { on: [], off: [] };
console.log(`open load ${values.rate} jobs/s for ${values.duration} s, resnet50 on 16 gpu × 8 slots, ${values.rounds} rounds\n`);
console.log('| metrics | completed | jobs/s | p50 | p99 |');
console.log('|---|---:|---:|---:|---:|');
for (let round = 0; round < Number(values.rounds); round++) {
  for (const mode of ['on', 'off'] as const) {
    const bench = await startBenchCluster(fleetPath, 'sed', { METRICS_ENABLED: mode === 'on' ? 'true' : 'false' });
    try {
      await runLoadClient(['burst', '--count', '100', '--spacing-ms', '2', '--model', 'resnet50'], bench.cluster.apiUrl);
      const report = await runLoadClient<Report>(
        ['open', '--rate', String(values.rate), '--duration', String(values.duration), '--model', 'resnet50', '--max-outstanding', '5000'],
        bench.cluster.apiUrl,
      );
      results[mode].push(report);
      console.log(`| ${mode} | ${report.completed} | ${report.throughputPerS.toFixed(1)} | ${report.latencyMs.p50.toFixed(1)} | ${report.latencyMs.p99.toFixed(1)} |`);
    } finally {
      await bench.close();
    }
  }
}
const mean = (rs: Report[]): number => rs.reduce((a, r) => a + r.throughputPerS, 0) / rs.length;
console.log(`\nthroughput ratio on / off: ${(mean(results.on) / mean(results.off)).toFixed(3)}`);
rmSync(dir, { recursive: true, force: true });
