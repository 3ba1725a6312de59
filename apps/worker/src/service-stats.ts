/**
 * Observed service time per model, and batch size, as exponentially weighted
 * means, so the heartbeat reports what the worker does now rather than since it
 * started. With batching, a job's service time is its batch's time ÷ batch size:
 * the work it adds to the queue, which is what `sed` needs.
 */
export class ServiceStats {
  private readonly means = new Map<string, number>();

  constructor(private readonly weight = 0.1) {}

  record(model: string, ms: number): void {
    const mean = this.means.get(model);
    this.means.set(model, mean === undefined ? ms : mean + this.weight * (ms - mean));
  }

  private meanBatch = 1;

  recordBatch(size: number): void {
    this.meanBatch += this.weight * (size - this.meanBatch);
  }

  /** Mean jobs per execution. */
  get batchSize(): number {
    return Math.round(this.meanBatch * 100) / 100;
  }

  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [model, mean] of this.means) out[model] = Math.round(mean * 100) / 100;
    return out;
  }
}
