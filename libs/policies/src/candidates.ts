import type { Rng } from '@sched/core';
import type { FleetSnapshot, WorkerView } from './types.js';

export interface SamplingOptions {
  /**
   * Up to this many eligible workers are scanned exactly; beyond it, policies sample.
   * @defaultValue 32
   */
  scanLimit?: number;
  /**
   * Workers sampled per class on a large fleet (power of d choices within each class).
   * @defaultValue 2
   */
  samplePerClass?: number;
}

export const DEFAULT_SCAN_LIMIT = 32;
export const DEFAULT_SAMPLE_PER_CLASS = 2;

function groupByClass(workers: readonly WorkerView[]): (readonly WorkerView[])[] {
  const groups = new Map<string, WorkerView[]>();
  for (const worker of workers) {
    const group = groups.get(worker.class);
    if (group === undefined) groups.set(worker.class, [worker]);
    else group.push(worker);
  }
  return [...groups.values()];
}

/** `count` distinct members of `group` (all of it when smaller), uniformly. */
function sampleDistinct(group: readonly WorkerView[], count: number, rng: Rng, out: WorkerView[]): void {
  const n = group.length;
  if (n <= count) {
    out.push(...group);
    return;
  }
  const start = out.length;
  while (out.length - start < count) {
    const pick = group[Math.floor(rng() * n)] as WorkerView;
    if (!out.includes(pick, start)) out.push(pick);
  }
}

/**
 * The workers a scoring policy evaluates for `model`: every eligible one on a
 * small fleet; on a large one, `samplePerClass` per class. Sampling per class
 * (not over the whole fleet) keeps a rare fast class in every sample, so the
 * decision costs O(classes), not O(workers), and stays speed-aware.
 */
export function candidates(
  model: string,
  snapshot: FleetSnapshot,
  rng: Rng,
  options: SamplingOptions = {},
): readonly WorkerView[] {
  const eligible = snapshot.eligible(model);
  if (eligible.length <= (options.scanLimit ?? DEFAULT_SCAN_LIMIT)) return eligible;
  const perClass = options.samplePerClass ?? DEFAULT_SAMPLE_PER_CLASS;
  const sample: WorkerView[] = [];
  for (const group of snapshot.eligibleByClass?.(model) ?? groupByClass(eligible)) sampleDistinct(group, perClass, rng, sample);
  return sample;
}
