import type { Catalog, JobSize } from '@sched/core';
import type { LatencyModel } from '@sched/exec';

/** A sample of the jobs a run offers: models with weights, and sizes when the run has them. */
export interface WorkSample {
  readonly model: string;
  readonly weight: number;
  readonly size?: JobSize | undefined;
}

/**
 * Jobs per second the fleet completes when every slot is busy, without
 * batching: each worker contributes slots ÷ its mean service time over the
 * part of the sample it serves. Load factors are relative to this.
 */
export function fleetCapacityPerS(fleet: Catalog, latency: LatencyModel, sample: readonly WorkSample[]): number {
  let capacity = 0;
  // Workers of one class and model list have the same rate: compute it once (fleets of 10,000 × trace samples).
  const rates = new Map<string, number>();
  for (const worker of fleet.workers) {
    const key = `${worker.class}\u0000${worker.models.join(',')}`;
    const known = rates.get(key);
    if (known !== undefined) {
      capacity += worker.slots * known;
      continue;
    }
    const serves = new Set(worker.models);
    let weight = 0;
    let work = 0;
    for (const job of sample) {
      if (!serves.has(job.model)) continue;
      weight += job.weight;
      work += job.weight * latency.expectedMs(job.model, worker.class, job.size);
    }
    const perSlot = weight > 0 ? (1000 * weight) / work : 0;
    rates.set(key, perSlot);
    capacity += worker.slots * perSlot;
  }
  return capacity;
}
