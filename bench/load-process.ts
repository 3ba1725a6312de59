/**
 * The benchmarks' load client, as a process of its own (so its CPU is its own, apart from the bench
 * that measures). Two kinds:
 *
 * - `closed`: --clients clients, each submitting a job and waiting for its end before the next
 *   (`poll`: POST /v1/jobs then GET /v1/jobs/:id?wait= long-polls; `prefer`: one POST with
 *   `Prefer: wait`, the client's submitAndWait; `batch`: --batch jobs in one `POST /v1/jobs/batch`
 *   (submitBatch), then one `POST /v1/jobs/wait` for them all (waitMany)).
 *   Emits `window-start` after --warmup s and `window-end` (jobs completed in the window) after
 *   --window s more, then lets the jobs in flight end and emits `done`.
 * - `schedule`: the load generator's runner (`runLoad`) on a Poisson (`--schedule poisson`) or
 *   burst (`--schedule burst`) schedule; emits `result` with end-to-end latency (before the POST
 *   to the terminal answer) and added latency (end to end − the job's finishedAt − startedAt).
 *
 *   npx tsx --conditions=@sched/source bench/load-process.ts closed --url URL --mode poll [--clients 64 --warmup 3 --window 12]
 *   npx tsx --conditions=@sched/source bench/load-process.ts schedule --url URL --schedule poisson --rate 98 --duration 30
 */
import { parseArgs } from 'node:util';
import { createClient, type SchedClient } from '@sched/client';
import { seededRng } from '@sched/core';
import { burstSchedule, buildLoadReport, errorKind, poissonSchedule, runLoad, type ArrivalSchedule, type LoadTarget } from '@sched/loadgen';
import { summariseLatencies } from '@sched/sim';
import { serviceMs } from './bench-math.js';
import { emitEvent, exitWithError } from './bench-child.js';
import { CLOSED_LOOP_MODES, type ClosedLoopMode } from './load-modes.js';


const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    mode: { type: 'string', default: 'poll' },
    clients: { type: 'string', default: '64' },
    batch: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '3' },
    window: { type: 'string', default: '12' },
    schedule: { type: 'string', default: 'poisson' },
    rate: { type: 'string', default: '50' },
    duration: { type: 'string', default: '30' },
    count: { type: 'string', default: '500' },
    'spacing-ms': { type: 'string', default: '80' },
    'max-outstanding': { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    model: { type: 'string', default: 'default' },
  },
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Error kinds and counts, as the load generator names them. */
class ErrorTally {
  readonly counts: Record<string, number> = {};
  add(kind: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }
}

/** One closed-loop step: the jobs completed and the kinds of those that did not. */
interface Step {
  readonly completed: number;
  readonly failures: readonly string[];
}

/** `poll` and `prefer`: one job; `batch`: --batch jobs in one `POST /v1/jobs/batch`, then one `waitMany` for them all. */
async function step(client: SchedClient, mode: ClosedLoopMode, input: string): Promise<Step> {
  const request = { model: values.model, input };
  if (mode === 'batch') {
    const requests = Array.from({ length: Number(values.batch) }, (_, j) => ({ ...request, input: `${input}-${j}` }));
    const submitted = await client.submitBatch(requests);
    const refused = submitted.results.flatMap((item) => ('problem' in item ? [`http ${item.status} ${item.problem.code ?? 'refused'}`] : []));
    const ids = submitted.results.flatMap((item) => ('job' in item ? [item.job.id] : []));
    const waited = await client.waitMany(ids, { timeoutS: 60 });
    const ended = waited.jobs.filter((job) => job.status !== 'completed' && !waited.pending.includes(job.id)).map((job) => `job ${job.status}`);
    const lost = [...waited.pending.map(() => 'wait_timeout'), ...waited.unknown.map(() => 'job unknown')];
    return { completed: waited.jobs.filter((job) => job.status === 'completed').length, failures: [...refused, ...ended, ...lost] };
  }
  const view = mode === 'prefer' ? await client.submitAndWait(request, { timeoutS: 60 }) : await client.wait((await client.submit(request)).id, { timeoutS: 60 });
  return view.status === 'completed' ? { completed: 1, failures: [] } : { completed: 0, failures: [`job ${view.status}`] };
}

async function closedLoop(client: SchedClient, mode: ClosedLoopMode): Promise<void> {
  const errors = new ErrorTally();
  let counting = false;
  let stopping = false;
  let inWindow = 0;
  const loops = Array.from({ length: Number(values.clients) }, async (_, c) => {
    for (let i = 0; !stopping; i++) {
      try {
        const { completed, failures } = await step(client, mode, `${c}-${i}`);
        if (counting) inWindow += completed;
        for (const kind of failures) errors.add(kind);
      } catch (error) {
        errors.add(errorKind(error));
      }
    }
  });
  await sleep(Number(values.warmup) * 1000);
  counting = true;
  emitEvent('window-start');
  const started = performance.now();
  await sleep(Number(values.window) * 1000);
  counting = false;
  const seconds = (performance.now() - started) / 1000;
  emitEvent('window-end', { jobs: inWindow, seconds });
  stopping = true;
  await Promise.all(loops);
  emitEvent('done', { errors: errors.counts });
}

/** Runs `schedule` through the load generator's runner; per completed job, end to end and its service. */
async function scheduled(client: SchedClient, schedule: ArrivalSchedule, maxOutstanding: number) {
  const submittedAt = new Map<string, number>();
  const endToEnd: number[] = [];
  const added: number[] = [];
  const target: LoadTarget = {
    submit: async (request, options) => {
      const before = performance.now();
      const accepted = await client.submit(request, options);
      submittedAt.set(accepted.id, before);
      return accepted;
    },
    wait: async (id, options) => {
      const view = await client.wait(id, options);
      const ms = performance.now() - (submittedAt.get(id) ?? Number.NaN);
      const service = serviceMs(view.timings);
      if (view.status === 'completed' && service !== undefined && Number.isFinite(ms)) {
        endToEnd.push(ms);
        added.push(ms - service);
      }
      return view;
    },
  };
  const recorder = await runLoad({ schedule, maxOutstanding, timeoutS: 60, requestFor: (seq) => ({ model: values.model, input: { seq } }) }, { target });
  const report = buildLoadReport('bench', recorder);
  return { report, endToEnd: Float64Array.from(endToEnd), added: Float64Array.from(added) };
}

async function scheduleRun(client: SchedClient): Promise<void> {
  const seed = Number(values.seed);
  const maxOutstanding = Number(values['max-outstanding']);
  let schedule: ArrivalSchedule;
  if (values.schedule === 'poisson') {
    const rate = Number(values.rate);
    const warmupS = Number(values.warmup);
    // Warm-up on a different seed: JIT, connections and script loads, not reported.
    if (warmupS > 0) await scheduled(client, poissonSchedule(rate, warmupS, seededRng(seed + 1000)), maxOutstanding);
    schedule = poissonSchedule(rate, Number(values.duration), seededRng(seed));
  } else if (values.schedule === 'burst') {
    schedule = burstSchedule(Number(values.count), Number(values['spacing-ms']));
  } else {
    exitWithError(`--schedule: expected poisson or burst, got "${values.schedule}"`);
  }
  const started = performance.now();
  const { report, endToEnd, added } = await scheduled(client, schedule, maxOutstanding);
  emitEvent('result', {
    jobs: report.count,
    completed: report.completed,
    failed: report.failed,
    errors: Object.fromEntries(Object.entries(report.errors).map(([kind, e]) => [kind, e.count])),
    lateStarts: report.lateStarts,
    seconds: (performance.now() - started) / 1000,
    endToEndMs: summariseLatencies(endToEnd),
    addedMs: summariseLatencies(added),
  });
}

const [kind] = positionals;
if (values.url === undefined) exitWithError('--url: expected the API base URL');
const client = createClient({ baseUrl: values.url, timeoutMs: 60_000 });
try {
  if (kind === 'closed') {
    const mode = values.mode as ClosedLoopMode;
    if (!CLOSED_LOOP_MODES.includes(mode)) exitWithError(`--mode: expected one of ${CLOSED_LOOP_MODES.join(', ')}, got "${values.mode}"`);
    await closedLoop(client, mode);
  } else if (kind === 'schedule') {
    await scheduleRun(client);
  } else {
    exitWithError(`expected the kind closed or schedule, got "${kind ?? ''}"`);
  }
} finally {
  await client.close();
}
