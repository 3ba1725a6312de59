import type { LoadRecorder } from './load-recorder.js';

export interface LatencySummary {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** The numbers of one run; `--json` prints exactly this. */
export interface LoadReport {
  mode: string;
  /** Jobs sent. */
  count: number;
  completed: number;
  failed: number;
  errors: Record<string, { count: number; example: string }>;
  /** Submit → result of completed jobs, in ms (0.1 ms resolution); null when none completed. */
  latencyMs: LatencySummary | null;
  /** First submission to last result. */
  durationS: number;
  /** Completed jobs per second over `durationS`. */
  throughputPerS: number;
  byClass: Record<string, { jobs: number; share: number }>;
  byWorker: Record<string, { class: string; jobs: number; share: number }>;
  /** Jobs sent 5 ms or more after they were due, and the worst such delay. */
  lateStarts: number;
  maxStartLagMs: number;
}

const toMs = (us: number): number => Math.round(us / 100) / 10;
const round = (value: number, digits: number): number => Number(value.toFixed(digits));

function byKey<T>(entries: Iterable<[string, T]>, order: (a: [string, T], b: [string, T]) => number): Record<string, T> {
  return Object.fromEntries([...entries].sort(order));
}

export function buildLoadReport(mode: string, recorder: LoadRecorder): LoadReport {
  const histogram = recorder.latencyUs;
  const latencyMs: LatencySummary | null =
    recorder.completed === 0
      ? null
      : {
          p50: toMs(histogram.getValueAtPercentile(50)),
          p90: toMs(histogram.getValueAtPercentile(90)),
          p95: toMs(histogram.getValueAtPercentile(95)),
          p99: toMs(histogram.getValueAtPercentile(99)),
          max: toMs(histogram.maxValue),
          mean: toMs(histogram.mean),
        };
  const first = recorder.firstSubmitAtMs;
  const last = recorder.lastFinishAtMs;
  const durationS = first === undefined || last === undefined ? 0 : (last - first) / 1000;
  const share = (jobs: number): number => (recorder.completed === 0 ? 0 : round(jobs / recorder.completed, 4));
  const mostJobsFirst = (a: [string, { jobs: number }], b: [string, { jobs: number }]): number =>
    b[1].jobs - a[1].jobs || a[0].localeCompare(b[0]);
  return {
    mode,
    count: recorder.submitted,
    completed: recorder.completed,
    failed: recorder.failed,
    errors: byKey(
      [...recorder.errors].map(([kind, tally]): [string, { count: number; example: string }] => [kind, { ...tally }]),
      (a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]),
    ),
    latencyMs,
    durationS: round(durationS, 3),
    throughputPerS: durationS > 0 ? round(recorder.completed / durationS, 2) : 0,
    byClass: byKey(
      [...recorder.byClass].map(([name, jobs]): [string, { jobs: number; share: number }] => [name, { jobs, share: share(jobs) }]),
      mostJobsFirst,
    ),
    byWorker: byKey(
      [...recorder.byWorker].map(([id, tally]): [string, { class: string; jobs: number; share: number }] => [
        id,
        { class: tally.class, jobs: tally.jobs, share: share(tally.jobs) },
      ]),
      mostJobsFirst,
    ),
    lateStarts: recorder.lateStarts,
    maxStartLagMs: round(recorder.maxStartLagMs, 1),
  };
}

/** Aligns columns: the first and those in `textColumns` to the left, numbers to the right. */
function table(rows: readonly (readonly string[])[], textColumns: readonly number[] = []): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const left = (i: number): boolean => i === 0 || textColumns.includes(i);
  return rows
    .map((row) =>
      row
        .map((cell, i) => (left(i) ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const percent = (share: number): string => `${(share * 100).toFixed(1)} %`;

/** The report as the text table printed at the end of a run. */
export function formatLoadReport(report: LoadReport): string {
  const sections: string[] = [];
  const latency = report.latencyMs;
  sections.push(
    table([
      ['jobs', String(report.count)],
      ['completed', String(report.completed)],
      ['errors', String(report.failed)],
      ['duration', `${report.durationS.toFixed(2)} s`],
      ['throughput', `${report.throughputPerS.toFixed(1)} jobs/s`],
      ...(report.lateStarts > 0 ? [['sent late (≥5 ms)', `${report.lateStarts} (max ${report.maxStartLagMs} ms)`]] : []),
    ]),
  );
  sections.push(
    latency === null
      ? 'latency (ms): no job completed'
      : table([
          ['latency (ms)', 'p50', 'p90', 'p95', 'p99', 'max', 'mean'],
          [
            'submit → result',
            ...[latency.p50, latency.p90, latency.p95, latency.p99, latency.max, latency.mean].map((v) => v.toFixed(1)),
          ],
        ]),
  );
  if (Object.keys(report.byClass).length > 0) {
    sections.push(
      table([
        ['class', 'jobs', 'share'],
        ...Object.entries(report.byClass).map(([name, c]) => [name, String(c.jobs), percent(c.share)]),
      ]),
    );
    sections.push(
      table([
        ['worker', 'class', 'jobs', 'share'],
        ...Object.entries(report.byWorker).map(([id, w]) => [id, w.class, String(w.jobs), percent(w.share)]),
      ], [1]),
    );
  }
  if (report.failed > 0) {
    sections.push(
      table([
        ['error', 'count', 'first message'],
        ...Object.entries(report.errors).map(([kind, e]) => [kind, String(e.count), e.example]),
      ], [2]),
    );
  }
  return `${sections.join('\n\n')}\n`;
}
