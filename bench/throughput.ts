/**
 * Throughput of the whole pipeline against raw BullMQ, side by side on one redis-server.
 *
 * The cluster runs as deployed (api, dispatcher, worker host: three processes) on a zero-latency
 * fleet (6 gpu workers × 50 slots, 1 ms service); the load client is a fourth process running a
 * closed loop of --clients clients (see load-process.ts for the modes). After it, on the same
 * redis-server, raw BullMQ one hop: a saturating producer process and one Worker process with the
 * same total concurrency (300) and a 1 ms processor (see raw-bullmq-process.ts). Rounds alternate
 * the order. Per window: jobs/s, CPU ms per job of every process (from /proc) and Redis commands
 * per job (INFO commandstats).
 *
 *   npx tsx --conditions=@sched/source bench/throughput.ts [--modes poll,prefer,batch] [--clients 64] [--batch-clients 8] [--batch 100] [--warmup 3] [--window 12] [--rounds 3]
 */
import { parseArgs } from 'node:util';
import { BenchChild, BenchChildError } from './bench-child.js';
import { startSplitCluster, tempFleetFile, type SplitCluster } from './bench-cluster.js';
import { formatNumber, markdownTable } from './bench-format.js';
import type { Spread } from './bench-math.js';
import { isMainModule } from './is-main-module.js';
import { CLOSED_LOOP_MODES, type ClosedLoopMode } from './load-modes.js';
import { startFloorPipeline, type FloorPipeline } from './floor-pipeline.js';
import { LOAD_CLIENT, summariseThroughput, type FloorSubject, type Subject, type SubjectSummary, type ThroughputWindow } from './throughput-summary.js';
import { WindowMeter } from './window-meter.js';

export interface ThroughputOptions {
  readonly modes: readonly ClosedLoopMode[];
  /** Closed-loop clients of `poll` and `prefer`, each with one job in flight. */
  readonly clients: number;
  /** Closed-loop clients of `batch`, each with one batch in flight. */
  readonly batchClients: number;
  /** Jobs per batch in `batch` mode. */
  readonly batchSize: number;
  readonly warmupS: number;
  readonly windowS: number;
  readonly rounds: number;
  /** Total slots of the fleet, and the raw Worker's concurrency. */
  readonly slots: number;
  readonly serviceMs: number;
  /** Also drive the bare two-hop floor (floor-pipeline.ts) on the same redis-server with these modes. */
  readonly floorModes: readonly ('poll' | 'prefer')[];
}

export const THROUGHPUT_DEFAULTS: ThroughputOptions = Object.freeze({
  modes: CLOSED_LOOP_MODES,
  clients: 64,
  batchClients: 8,
  batchSize: 100,
  warmupS: 3,
  windowS: 12,
  rounds: 3,
  slots: 300,
  serviceMs: 1,
  floorModes: ['poll', 'prefer'] as const,
});

export interface ThroughputResult {
  readonly options: ThroughputOptions;
  readonly windows: readonly ThroughputWindow[];
  readonly summaries: readonly SubjectSummary[];
  /** Modes that could not run, and why. */
  readonly unavailable: Readonly<Partial<Record<ClosedLoopMode, string>>>;
}

const WORKERS = 6;

/** The pipeline's processes by name (startSplitCluster starts worker host, dispatcher, api in that order). */
function pipelineProcesses(cluster: SplitCluster): Record<string, number> {
  return { api: cluster.pids[2] ?? 0, dispatcher: cluster.pids[1] ?? 0, 'worker host': cluster.pids[0] ?? 0, 'redis-server': cluster.redisPid };
}

/** The floor's processes under the pipeline's names (its relay stands where the dispatcher does). */
function floorProcesses(floor: FloorPipeline, cluster: SplitCluster): Record<string, number> {
  return { api: floor.pids[2] ?? 0, dispatcher: floor.pids[1] ?? 0, 'worker host': floor.pids[0] ?? 0, 'redis-server': cluster.redisPid };
}

interface LoadTarget {
  readonly subject: ClosedLoopMode | FloorSubject;
  readonly mode: ClosedLoopMode;
  readonly url: string;
  readonly processes: Record<string, number>;
}

async function measurePipeline(target: LoadTarget, meter: WindowMeter, round: number, options: ThroughputOptions): Promise<ThroughputWindow> {
  const { mode } = target;
  const load = new BenchChild('load-process.ts', [
    'closed',
    ...['--url', target.url, '--mode', mode, '--clients', String(mode === 'batch' ? options.batchClients : options.clients), '--batch', String(options.batchSize)],
    ...['--warmup', String(options.warmupS), '--window', String(options.windowS)],
  ]);
  try {
    const processes = { ...target.processes, [LOAD_CLIENT]: load.pid };
    await load.next('window-start');
    await meter.begin(processes);
    const end = await load.next('window-end', (options.windowS + 60) * 1000);
    const jobs = Number(end.jobs);
    const cost = await meter.end(processes, jobs);
    const done = await load.next('done');
    const errors = done.errors as Record<string, number>;
    return { round, subject: target.subject, jobs, seconds: Number(end.seconds), jobsPerS: jobs / Number(end.seconds), ...cost, errors };
  } finally {
    await load.stop();
  }
}

async function measureRaw(cluster: SplitCluster, meter: WindowMeter, round: number, options: ThroughputOptions): Promise<ThroughputWindow> {
  const common = ['--redis', cluster.redisUrl];
  const worker = new BenchChild('raw-bullmq-process.ts', [
    'worker',
    ...common,
    ...['--concurrency', String(options.slots), '--service-ms', String(options.serviceMs), '--warmup', String(Math.min(2, options.warmupS)), '--window', String(options.windowS)],
  ]);
  const producer = new BenchChild('raw-bullmq-process.ts', ['producer', ...common]);
  try {
    await Promise.all([worker.next('ready'), producer.next('ready')]);
    const processes = { producer: producer.pid, Worker: worker.pid, 'redis-server': cluster.redisPid };
    await worker.next('window-start');
    await meter.begin(processes);
    const end = await worker.next('window-end', (options.windowS + 60) * 1000);
    const jobs = Number(end.jobs);
    const cost = await meter.end(processes, jobs);
    return { round, subject: 'raw', jobs, seconds: Number(end.seconds), jobsPerS: jobs / Number(end.seconds), ...cost, errors: {} };
  } finally {
    await producer.stop();
    await worker.stop();
  }
}

export async function runThroughput(options: ThroughputOptions = THROUGHPUT_DEFAULTS, log: (line: string) => void = console.error): Promise<ThroughputResult> {
  const fleet = tempFleetFile('bench-throughput', {
    models: { default: { gpu: { p50Ms: options.serviceMs, p99Ms: options.serviceMs } } },
    workers: Array.from({ length: WORKERS }, (_, i) => ({ id: `gpu-${i}`, class: 'gpu', slots: options.slots / WORKERS })),
  });
  const cluster = await startSplitCluster(fleet.path, 'sed');
  const floor = options.floorModes.length === 0 ? undefined : await startFloorPipeline(cluster.redisUrl, { workers: WORKERS, slots: options.slots / WORKERS, serviceMs: options.serviceMs });
  const meter = await WindowMeter.connect(cluster.redisUrl);
  const windows: ThroughputWindow[] = [];
  const unavailable: Partial<Record<ClosedLoopMode, string>> = {};
  const targets: LoadTarget[] = [
    ...options.modes.map((mode) => ({ subject: mode, mode, url: cluster.apiUrl, processes: pipelineProcesses(cluster) })),
    ...(floor === undefined ? [] : options.floorModes.map((mode) => ({ subject: `floor-${mode}` as const, mode, url: floor.apiUrl, processes: floorProcesses(floor, cluster) }))),
  ];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const subjects: (LoadTarget | 'raw')[] = [...targets, 'raw'];
      // Alternate the order so a drift in the machine's load does not favour one subject.
      for (const subject of round % 2 === 1 ? subjects : subjects.reverse()) {
        if (subject !== 'raw' && subject.subject in unavailable) continue;
        const name = subject === 'raw' ? 'raw' : subject.subject;
        try {
          const window = subject === 'raw' ? await measureRaw(cluster, meter, round, options) : await measurePipeline(subject, meter, round, options);
          windows.push(window);
          log(`throughput round ${round} ${name}: ${formatNumber(window.jobsPerS)} jobs/s, ${formatNumber(window.commands.total, 1)} commands/job`);
        } catch (error) {
          if (!(error instanceof BenchChildError) || subject === 'raw' || subject.subject !== subject.mode) throw error;
          unavailable[subject.mode] = error.reason;
          log(`throughput ${name}: not run: ${error.reason}`);
        }
      }
    }
  } finally {
    meter.close();
    await floor?.close();
    await cluster.close();
    fleet.remove();
  }
  return { options, windows, summaries: summariseThroughput(windows), unavailable };
}

const SUBJECT_LABEL: Readonly<Record<Subject, string>> = {
  poll: 'submit + long-poll (`poll`, 2 requests per job)',
  prefer: 'one POST with `Prefer: wait=30` (`prefer`)',
  batch: 'batch submit + one wait for many (`batch`, 2 requests per batch)',
  'floor-poll': 'floor: bare two-hop BullMQ + Express, submit + long-poll',
  'floor-prefer': 'floor: bare two-hop BullMQ + Express, one POST with `Prefer: wait`',
  raw: '**raw BullMQ, one hop**',
};

const spreadText = (s: Spread, digits: number): string => (s.n > 1 ? `${formatNumber(s.mean, digits)} (${formatNumber(s.min, digits)}–${formatNumber(s.max, digits)})` : formatNumber(s.mean, digits));

/** The tables of a run: throughput and ratio, CPU per job by process, Redis commands per job by command. */
export function formatThroughput(result: ThroughputResult, topCommands = 12): string {
  const { options, summaries } = result;
  const floorSubjects = options.floorModes.map((mode): FloorSubject => `floor-${mode}`);
  const throughputRows = [...options.modes, ...floorSubjects, 'raw' as const].map((subject): string[] => {
    const s = summaries.find((x) => x.subject === subject);
    const reason = subject === 'raw' || subject.startsWith('floor-') ? undefined : result.unavailable[subject as ClosedLoopMode];
    if (s === undefined) return [SUBJECT_LABEL[subject], `not run: ${reason ?? 'no window'}`, '', '', '', ''];
    return [SUBJECT_LABEL[subject], spreadText(s.jobsPerS, 0), subject === 'raw' ? '1' : spreadText(s.ratioToRaw, 3), formatNumber(s.cpuMsPerJobTotal, 3), formatNumber(s.commands.total, 1), subject === 'raw' ? '—' : String(s.errors)];
  });
  const cpuColumns: readonly (readonly [string, string])[] = [
    ['api', 'producer'],
    ['dispatcher', ''],
    ['worker host', 'Worker'],
    ['redis-server', 'redis-server'],
    [LOAD_CLIENT, ''],
  ];
  const cpuRows = summaries.map((s) => [
    SUBJECT_LABEL[s.subject],
    ...cpuColumns.map(([pipelineName, rawName]) => {
      const name = s.subject === 'raw' ? rawName : pipelineName;
      if (name === '') return '—';
      const ms = formatNumber(s.cpuMsPerJob[name] ?? Number.NaN, 3);
      return s.subject === 'raw' && name !== 'redis-server' ? `${ms} (${name})` : ms;
    }),
    formatNumber(s.cpuMsPerJobTotal, 3),
  ]);
  const commandNames = [...new Set(summaries.flatMap((s) => s.commands.byCommand.slice(0, topCommands).map(([name]) => name)))].sort((a, b) => {
    const most = (name: string): number => Math.max(...summaries.map((s) => s.commands.byCommand.find(([n]) => n === name)?.[1] ?? 0));
    return most(b) - most(a) || a.localeCompare(b);
  });
  const commandRows = [
    ...commandNames.map((name) => [name, ...summaries.map((s) => formatNumber(s.commands.byCommand.find(([n]) => n === name)?.[1] ?? 0, 2))]),
    ['**all commands**', ...summaries.map((s) => `**${formatNumber(s.commands.total, 1)}**`)],
  ];
  const shortLabel = (subject: Subject): string => (subject === 'raw' ? 'raw BullMQ' : `\`${subject}\``);
  return [
    `Closed loop of ${options.clients} clients (\`batch\`: ${options.batchClients} clients × ${options.batchSize} jobs per batch) in a fourth process, ${options.warmupS} s warm-up then a ${options.windowS} s window per mode, ${options.rounds} rounds in alternating order; ` +
      `fleet of ${WORKERS} gpu workers × ${options.slots / WORKERS} slots at ${options.serviceMs} ms; api, dispatcher and worker host as three processes; ` +
      `the floor (\`bench/floor-pipeline.ts\`: stock BullMQ two hops — ingress, a relay Worker, a worker queue — behind the same Express front, no validation, routing policy, index, metrics or status messages but the last; its relay process stands in the dispatcher column) driven by the same load client; ` +
      `raw BullMQ on the same redis-server in the same run: a producer process adding as fast as it can (saturating, ≤ 64 adds in flight, waiting list kept under 2,000) and one Worker process, concurrency ${options.slots}, ${options.serviceMs} ms processor, removeOnComplete. ` +
      `Rounds' spread in brackets (min–max); a ratio is taken round by round against raw BullMQ's window of the same round.`,
    '',
    markdownTable(['client mode', 'jobs/s', '÷ raw BullMQ', 'CPU ms/job, all processes but the load client', 'Redis commands/job', 'errors'], throughputRows),
    '',
    'CPU ms per job by process (from /proc, user + system, over the window):',
    '',
    markdownTable(['', 'api', 'dispatcher', 'worker host', 'redis-server', 'load client', 'total but the load client'], cpuRows),
    '',
    `Redis commands per job (\`INFO commandstats\` over the window ÷ jobs completed in it; each subject's top ${topCommands}):`,
    '',
    markdownTable(['command', ...summaries.map((s) => shortLabel(s.subject))], commandRows),
  ].join('\n');
}

if (isMainModule(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      modes: { type: 'string', default: THROUGHPUT_DEFAULTS.modes.join(',') },
      clients: { type: 'string', default: String(THROUGHPUT_DEFAULTS.clients) },
      'batch-clients': { type: 'string', default: String(THROUGHPUT_DEFAULTS.batchClients) },
      batch: { type: 'string', default: String(THROUGHPUT_DEFAULTS.batchSize) },
      warmup: { type: 'string', default: String(THROUGHPUT_DEFAULTS.warmupS) },
      window: { type: 'string', default: String(THROUGHPUT_DEFAULTS.windowS) },
      rounds: { type: 'string', default: String(THROUGHPUT_DEFAULTS.rounds) },
    },
  });
  const modes = values.modes.split(',').filter((m): m is ClosedLoopMode => (CLOSED_LOOP_MODES as readonly string[]).includes(m));
  const result = await runThroughput({
    ...THROUGHPUT_DEFAULTS,
    modes,
    clients: Number(values.clients),
    batchClients: Number(values['batch-clients']),
    batchSize: Number(values.batch),
    warmupS: Number(values.warmup),
    windowS: Number(values.window),
    rounds: Number(values.rounds),
  });
  console.log(formatThroughput(result));
}
