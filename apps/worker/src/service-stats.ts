/**
 * Observed service time per model as an exponentially weighted mean, so the
 * heartbeat reports what the worker does now rather than since it started.
 */
export class ServiceStats {
  private readonly means = new Map<string, number>();

  constructor(private readonly weight = 0.1) {}

  record(model: string, ms: number): void {
    const mean = this.means.get(model);
    this.means.set(model, mean === undefined ? ms : mean + this.weight * (ms - mean));
  }

  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [model, mean] of this.means) out[model] = Math.round(mean * 100) / 100;
    return out;
  }
}
