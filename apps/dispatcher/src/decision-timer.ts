import type { DispatcherMetrics } from '@sched/telemetry';
import type { LatencySampler } from './latency-sampler.js';

/** Records how long routing decisions take: the decision-duration histogram, and recent samples for benchmarks. */
export class DecisionTimer {
  constructor(
    private readonly histogram: Pick<DispatcherMetrics['decisionDuration'], 'observe'>,
    readonly samples: LatencySampler,
  ) {}

  /** A monotonic start mark for `since`. */
  static start(): bigint {
    return process.hrtime.bigint();
  }

  /** `decisions` decisions took the time since `started` together (a late-binding round): each is counted with its share. */
  since(started: bigint, decisions = 1): void {
    if (decisions === 0) return;
    const micros = Number(process.hrtime.bigint() - started) / 1000 / decisions;
    for (let k = 0; k < decisions; k++) {
      this.histogram.observe(micros / 1e6);
      this.samples.record(micros);
    }
  }
}
