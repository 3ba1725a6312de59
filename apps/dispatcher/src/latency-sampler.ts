/** Keeps the most recent decision durations so a benchmark can read exact percentiles. */
export class LatencySampler {
  private readonly samples: Float64Array;
  private count = 0;

  constructor(capacity = 16_384) {
    this.samples = new Float64Array(capacity);
  }

  record(value: number): void {
    this.samples[this.count % this.samples.length] = value;
    this.count++;
  }

  reset(): void {
    this.count = 0;
  }

  /** Percentiles (0–100) over the retained samples; NaN when there are none. */
  percentiles(ps: readonly number[]): number[] {
    const n = Math.min(this.count, this.samples.length);
    if (n === 0) return ps.map(() => Number.NaN);
    const sorted = this.samples.slice(0, n).sort();
    return ps.map((p) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))] ?? Number.NaN);
  }

  get size(): number {
    return Math.min(this.count, this.samples.length);
  }
}
