/**
 * Webhook delivery latency at a steady submission rate: every job carries a webhook to a
 * receiver in its own process; latency = when the receiver has the POST − the job's
 * `finishedAt` (both clocks are this machine's). Open loop: submissions are paced at --rate
 * whatever the answers do. The first --warmup seconds are not reported.
 *
 *   npx tsx --conditions=@sched/source bench/webhook-latency.ts [--rate 200] [--seconds 30] [--warmup 5]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { createClient } from '@sched/client';
import { percentile } from '@sched/sim';
import { startSplitCluster, tempFleetFile } from './bench-cluster.js';

const { values } = parseArgs({
  options: { rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '30' }, warmup: { type: 'string', default: '5' } },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const warmupS = Number(values.warmup);

// Enough capacity that 200 jobs/s never queue: 4 gpus × 8 slots at ~20 ms.
const fleetFile = tempFleetFile('webhook-bench', {
  models: { default: { gpu: { p50Ms: 20, p99Ms: 40 } } },
  workers: Array.from({ length: 4 }, (_, i) => ({ id: `gpu-${i}`, class: 'gpu', slots: 8 })),
});

// The receiver: its own process, answers 204 at once, prints "<job id> <lag ms>" per delivery.
const receiverSource = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const at = Date.now();
    res.writeHead(204).end();
    const job = JSON.parse(body);
    process.stdout.write(job.id + ' ' + (at - Date.parse(job.timings.finishedAt)) + ' ' + job.timings.totalMs + '\\n');
  });
});
server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => process.stderr.write('port ' + server.address().port + '\\n'));
`;
const receiver = spawn(process.execPath, ['-e', receiverSource], { stdio: ['ignore', 'pipe', 'pipe'] });
const [portLine] = (await once(receiver.stderr, 'data')) as [Buffer];
const port = Number(/port (\d+)/.exec(portLine.toString())?.[1]);
const lags = new Map<string, number>();
const jobTotals = new Map<string, number>();
let partial = '';
receiver.stdout.on('data', (chunk: Buffer) => {
  const lines = (partial + chunk.toString()).split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) {
    const [id, lag, totalMs] = line.split(' ');
    if (id !== undefined && !lags.has(id)) {
      lags.set(id, Number(lag));
      jobTotals.set(id, Number(totalMs));
    }
  }
});

const bench = await startSplitCluster(fleetFile.path, 'sed', { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 1).toString('base64')}` });
const client = createClient({ baseUrl: bench.apiUrl, timeoutMs: 30_000 });
const url = `http://127.0.0.1:${port}/hook`;

const measured: string[] = [];
const started = Date.now();
const total = Math.round(rate * (seconds + warmupS));
const pending: Promise<void>[] = [];
let errors = 0;
for (let i = 0; i < total; i++) {
  const due = started + (i * 1000) / rate;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const warm = i < rate * warmupS;
  pending.push(
    client.submit({ model: 'default', input: i, webhook: { url } }).then(
      (accepted) => void (warm ? undefined : measured.push(accepted.id)),
      () => void errors++,
    ),
  );
}
await Promise.all(pending);
const achievedRate = total / ((Date.now() - started) / 1000);
// Let the last deliveries land.
const deadline = Date.now() + 30_000;
while (measured.some((id) => !lags.has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

const sorted = (m: Map<string, number>): Float64Array => Float64Array.from(measured.map((id) => m.get(id)).filter((v): v is number => v !== undefined)).sort();
const values_ = sorted(lags);
const totals = sorted(jobTotals);
const pctOf = (xs: Float64Array, p: number): number => percentile(xs, p * 100);
const pct = (p: number): number => pctOf(values_, p);
const metrics = await (await fetch(bench.dispatcherMetricsUrl)).text();
const outcome = (o: string): string => new RegExp(`sched_webhook_deliveries_total\\{outcome="${o}"[^}]*\\} (\\S+)`).exec(metrics)?.[1] ?? '?';

console.log(`webhook delivery latency, ${rate} jobs/s open loop for ${seconds} s after ${warmupS} s warm-up (achieved ${achievedRate.toFixed(1)} jobs/s submitted)`);
console.log('api, dispatcher, worker host (4 gpu × 8 slots, ~20 ms jobs) and the receiver: one process each; 2 cores\n');
console.log('| jobs measured | delivered | webhook p50 | p90 | p99 | max | job total p50 / p99 | submit errors | deliveries: delivered / retrying / failed |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---|');
console.log(
  `| ${measured.length} | ${values_.length} | ${pct(0.5)} ms | ${pct(0.9)} ms | ${pct(0.99)} ms | ${values_.at(-1) ?? '?'} ms | ${pctOf(totals, 0.5)} / ${pctOf(totals, 0.99)} ms | ${errors} | ${outcome('delivered')} / ${outcome('retrying')} / ${outcome('failed')} |`,
);

await client.close();
await bench.close();
receiver.kill();
fleetFile.remove();
