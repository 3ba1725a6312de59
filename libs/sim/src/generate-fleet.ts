import type { Catalog, ResolvedWorker } from '@sched/core';

/**
 * `size` workers in the class mix of `template` (same proportions, slots,
 * models and settings per class, in the template's order), ids `<class>-<n>`.
 */
export function generateFleet(template: Catalog, size: number): Catalog {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`--fleet-size: expected a positive integer, got ${size}`);
  const n = template.workers.length;
  const workers: ResolvedWorker[] = [];
  const perClass = new Map<string, number>();
  for (let i = 0; i < size; i++) {
    const base = template.workers[Math.floor((i * n) / size)] as ResolvedWorker;
    const k = perClass.get(base.class) ?? 0;
    perClass.set(base.class, k + 1);
    workers.push({ ...base, id: `${base.class}-${k}` });
  }
  return Object.freeze({ models: template.models, workers: Object.freeze(workers) });
}
