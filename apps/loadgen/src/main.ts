import { createClient } from '@sched/client';
import { seededRng } from '@sched/core';
import { readFileSync } from 'node:fs';
import { TraceError, modelPicker, parseAzureCsvTrace, parseJsonlTrace, type TraceArrival } from '@sched/exec';
import { burstSchedule, poissonSchedule, traceSchedule, type ArrivalSchedule } from './arrival-schedule.js';
import { LoadArgsError, parseLoadArgs, USAGE, type LoadArgs } from './load-args.js';
import { buildLoadReport, formatLoadReport } from './load-report.js';
import { runLoad } from './load-runner.js';
import { createProgressDisplay } from './progress-bar.js';

async function run(args: LoadArgs): Promise<number> {
  const trace = args.mode === 'replay' ? readTrace(args) : [];
  // Arrivals and the model mix draw from separate streams, so changing --mix leaves the arrival times alone.
  const schedule: ArrivalSchedule =
    args.mode === 'burst'
      ? burstSchedule(args.count, args.spacingMs)
      : args.mode === 'open'
        ? poissonSchedule(args.ratePerS, args.durationS, seededRng(args.seed))
        : traceSchedule(trace.map((row) => row.t), args.speed);
  const pickModel = modelPicker(args.mix, seededRng(args.seed + 1));
  const client = createClient({ baseUrl: args.url, apiKey: args.apiKey });
  const progress = createProgressDisplay(args.mode, schedule.offsetsMs.length, !args.json && process.stderr.isTTY);

  // First Ctrl-C: stop sending and report what finished; a second one quits at once.
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new DOMException('interrupted', 'AbortError'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const recorder = await runLoad(
      {
        schedule,
        maxOutstanding: args.maxOutstanding,
        timeoutS: args.timeoutS,
        batchSize: args.batch,
        requestFor: (index) => {
          const row = trace[index];
          return {
            model: row?.model ?? pickModel(),
            input: { seq: index },
            ...(row?.size === undefined ? {} : { size: row.size }),
            ...(args.priority === undefined ? {} : { priority: args.priority }),
          };
        },
      },
      { target: client, signal: controller.signal, onProgress: (p) => progress.update(p) },
    );
    progress.stop();
    const report = buildLoadReport(args.mode, recorder);
    process.stdout.write(args.json ? `${JSON.stringify(report)}\n` : formatLoadReport(report));
    // A run where nothing completed (API down, wrong model) fails, so scripts notice.
    return report.count > 0 && report.completed === 0 ? 1 : 0;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client.close();
  }
}

/** The trace's rows (CSV rows all become jobs of --model), cut to --limit. */
function readTrace(args: LoadArgs): TraceArrival[] {
  const path = args.trace ?? '';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new LoadArgsError('--trace', `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const model = args.mix[0]?.model ?? 'default';
  const rows = path.endsWith('.csv') ? parseAzureCsvTrace(text, model, path) : parseJsonlTrace(text, path);
  return args.limit === undefined ? rows : rows.slice(0, args.limit);
}

async function main(argv: readonly string[]): Promise<number> {
  let args: LoadArgs | 'help';
  try {
    args = parseLoadArgs(argv, process.env);
  } catch (error) {
    if (!(error instanceof LoadArgsError)) throw error;
    process.stderr.write(`loadgen: ${error.message}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    return await run(args);
  } catch (error) {
    if (!(error instanceof LoadArgsError) && !(error instanceof TraceError)) throw error;
    process.stderr.write(`loadgen: ${error.message}\n`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
