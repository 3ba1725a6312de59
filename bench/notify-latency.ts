/**
 * Notification latency with N concurrent waiters on one API process: N jobs run at once
 * (a fleet with N slots), each watched by a long-poll (round 1) or an SSE stream (round 2);
 * latency = when the waiter has the completed view − the job's finishedAt. A first round warms up.
 *
 *   npx tsx --conditions=@sched/source bench/notify-latency.ts [--waiters 1000]
 */
import { parseArgs } from 'node:util';
import { createClient } from '@sched/client';
import type { JobView } from '@sched/core';
import { percentile } from '@sched/sim';
import { startBenchCluster, tempFleetFile } from './bench-cluster.js';

const { values } = parseArgs({ options: { waiters: { type: 'string', default: '1000' } } });
const n = Number(values.waiters);
const fleetFile = tempFleetFile('notify', {
  models: { default: { gpu: { p50Ms: 1500, p99Ms: 2500 } } },
  workers: Array.from({ length: 10 }, (_, i) => ({ id: `gpu-${i}`, class: 'gpu', slots: Math.ceil(n / 10) })),
});
const bench = await startBenchCluster(fleetFile.path, 'sed');
const client = createClient({ baseUrl: bench.cluster.apiUrl, timeoutMs: 60_000 });

const pct = (xs: number[], p: number): number => percentile(Float64Array.from(xs).sort(), p * 100);
const lagOf = (view: JobView): number => Date.now() - Date.parse(view.timings.finishedAt ?? '');

async function round(kind: 'long-poll' | 'sse'): Promise<number[]> {
  const ids = await Promise.all(Array.from({ length: n }, (_, i) => client.submit({ model: 'default', input: i }).then((a) => a.id)));
  return Promise.all(
    ids.map(async (id) => {
      if (kind === 'long-poll') return lagOf(await client.wait(id, { timeoutS: 60 }));
      let last: JobView | undefined;
      for await (const event of client.events(id)) last = event.data;
      if (last?.status !== 'completed') throw new Error(`stream of ${id} ended at ${last?.status}`);
      return lagOf(last);
    }),
  );
}

console.log(`${n} concurrent waiters on one API process (cluster in one process), jobs finishing within ~1 s of each other\n`);
console.log('| waiter | p50 | p90 | p99 | max |');
console.log('|---|---:|---:|---:|---:|');
// The first round after start pays for 1,000 first jobs (connections, JIT, script loads): not reported.
await round('long-poll');
for (const kind of ['long-poll', 'sse', 'long-poll', 'sse'] as const) {
  const lags = await round(kind);
  console.log(`| ${kind} | ${pct(lags, 0.5)} ms | ${pct(lags, 0.9)} ms | ${pct(lags, 0.99)} ms | ${Math.max(...lags)} ms |`);
}
await client.close();
await bench.close();
fleetFile.remove();
