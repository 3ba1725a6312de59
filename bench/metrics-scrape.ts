/**
 * Cost of one /metrics scrape (time and bytes) on each process with N worker queues:
 * the api, the dispatcher (which exports every worker queue's counts) and one worker
 * host running all N workers. Each queue holds some finished jobs so counts are real.
 *
 *   npx tsx --conditions=@sched/source bench/metrics-scrape.ts [--workers 100] [--scrapes 20]
 */
import { parseArgs } from 'node:util';
import { bundledFleetPath, loadCatalog } from '@sched/core';
import { generateFleet } from '@sched/sim';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchCluster } from './bench-cluster.js';

const { values } = parseArgs({ options: { workers: { type: 'string', default: '100' }, scrapes: { type: 'string', default: '20' } } });
const fleet = generateFleet(loadCatalog(bundledFleetPath('default')), Number(values.workers));
const dir = mkdtempSync(join(tmpdir(), 'scrape-'));
const fleetPath = join(dir, 'fleet.json');
writeFileSync(fleetPath, JSON.stringify({ models: fleet.models, workers: fleet.workers.map(({ models: _models, ...w }) => w) }));

const bench = await startBenchCluster(fleetPath, 'sed');
const { cluster } = bench;
// Some traffic so every family has samples.
await Promise.all(
  Array.from({ length: 400 }, async (_, i) => {
    const res = await fetch(`${cluster.apiUrl}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'resnet50', input: i }) });
    const { id } = (await res.json()) as { id: string };
    await fetch(`${cluster.apiUrl}/v1/jobs/${id}?wait=10`);
  }),
);

const endpoints = {
  api: `${cluster.apiUrl}/metrics`,
  dispatcher: `http://127.0.0.1:${cluster.dispatcher.metricsPort}/metrics`,
  'worker host': `http://127.0.0.1:${cluster.workers.metricsPort}/metrics`,
};
console.log(`${fleet.workers.length} workers (one worker host), ${values.scrapes} scrapes per endpoint\n`);
console.log('| process | scrape p50 | scrape max | bytes | series lines |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, url] of Object.entries(endpoints)) {
  const times: number[] = [];
  let text = '';
  for (let i = 0; i < Number(values.scrapes); i++) {
    const started = performance.now();
    text = await (await fetch(url)).text();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  console.log(`| ${name} | ${(times[Math.floor(times.length / 2)] ?? 0).toFixed(1)} ms | ${(times[times.length - 1] ?? 0).toFixed(1)} ms | ${Buffer.byteLength(text)} | ${series} |`);
}
await bench.close();
rmSync(dir, { recursive: true, force: true });
