import type { SimResult } from './sim-types.js';

function ms(value: number): string {
  return value >= 10_000 ? `${(value / 1000).toFixed(1)}s` : value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** One row per policy; latencies in ms. */
export function formatResultTable(results: readonly SimResult[]): string {
  const classes = [...new Set(results.flatMap((r) => Object.keys(r.utilisationByClass)))].sort();
  const header = ['policy', 'p50', 'p95', 'p99', 'max', 'mean', 'wait', 'jobs/s', ...classes.map((c) => `util ${c}`), 'cost/1k', 'batch', 'dropped'];
  const rows = results.map((r) => [
    r.policy,
    ms(r.p50Ms),
    ms(r.p95Ms),
    ms(r.p99Ms),
    ms(r.maxMs),
    ms(r.meanMs),
    ms(r.meanWaitMs),
    r.throughput.toFixed(1),
    ...classes.map((c) => `${((r.utilisationByClass[c] ?? 0) * 100).toFixed(0)}%`),
    r.costPer1000Jobs.toFixed(4),
    r.meanBatchSize.toFixed(2),
    String(r.unroutable),
  ]);
  return table(header, rows);
}

/** Share of jobs per worker (only readable for small fleets). */
export function formatShareTable(results: readonly SimResult[]): string {
  const workers = Object.keys(results[0]?.sharePerWorker ?? {});
  const rows = results.map((r) => [r.policy, ...workers.map((w) => `${((r.sharePerWorker[w] ?? 0) * 100).toFixed(1)}%`)]);
  return table(['share', ...workers], rows);
}

/** p99 per load (rows) and policy (columns). */
export function formatSweepTable(loads: readonly number[], policies: readonly string[], p99: ReadonlyMap<string, readonly number[]>): string {
  const rows = loads.map((load, i) => [load.toFixed(2), ...policies.map((p) => ms(p99.get(p)?.[i] ?? NaN))]);
  return table(['load \\ p99 ms', ...policies], rows);
}
