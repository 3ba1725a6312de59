/**
 * CPU cost of the metric updates one job causes across the three processes (prom-client,
 * the real metric objects): API 1 submit counter + 2 HTTP histograms; dispatcher 1 decision
 * histogram + 1 decision counter; worker 2 busy-gauge moves, 1 completion counter, 3 duration
 * histograms, 1 cost counter.
 *
 *   npx tsx --conditions=@sched/source bench/metrics-ops.ts
 */
import { createApiMetrics, createDispatcherMetrics, createRegistry, createWorkerMetrics } from '@sched/telemetry';

const api = createApiMetrics(createRegistry('api'));
const dispatcher = createDispatcherMetrics(createRegistry('dispatcher'));
const worker = createWorkerMetrics(createRegistry('worker'));
const workers = ['gpu-0', 'gpu-1', 'cpu-0', 'cpu-1'];

function oneJob(i: number): void {
  const w = workers[i % workers.length] as string;
  const cls = w.slice(0, 3);
  api.jobsSubmitted.inc({ model: 'resnet50', priority: 'normal' });
  api.httpDuration.observe({ method: 'POST', route: '/v1/jobs', status: '202' }, 0.0012);
  api.httpDuration.observe({ method: 'GET', route: '/v1/jobs/:id', status: '200' }, 0.011);
  dispatcher.decisionDuration.observe(0.000004);
  dispatcher.decisions.inc({ policy: 'sed', class: cls, worker: w });
  worker.busySlots.inc({ worker: w, class: cls });
  worker.busySlots.dec({ worker: w, class: cls });
  worker.jobsCompleted.inc({ model: 'resnet50', class: cls, worker: w, outcome: 'completed' });
  worker.jobDuration.observe({ model: 'resnet50', class: cls, stage: 'queue' }, 0.003);
  worker.jobDuration.observe({ model: 'resnet50', class: cls, stage: 'service' }, 0.008);
  worker.jobDuration.observe({ model: 'resnet50', class: cls, stage: 'total' }, 0.011);
  worker.jobCost.inc({ class: cls, worker: w }, 0.000004);
}

for (let i = 0; i < 50_000; i++) oneJob(i);
const n = 500_000;
const started = process.hrtime.bigint();
for (let i = 0; i < n; i++) oneJob(i);
const nsPerJob = Number(process.hrtime.bigint() - started) / n;
console.log(`metric updates per job: ${nsPerJob.toFixed(0)} ns (${(nsPerJob / 1000).toFixed(2)} µs)`);
