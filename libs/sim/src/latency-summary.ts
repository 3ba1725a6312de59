/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export interface LatencySummary {
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/** Sorts `latencies` in place. */
export function summariseLatencies(latencies: Float64Array): LatencySummary {
  latencies.sort();
  let sum = 0;
  for (const value of latencies) sum += value;
  return {
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.length === 0 ? 0 : (latencies[latencies.length - 1] as number),
    meanMs: latencies.length === 0 ? 0 : sum / latencies.length,
  };
}
