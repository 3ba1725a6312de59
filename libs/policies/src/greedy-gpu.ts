import { leastLoaded } from './jsq.js';
import type { Policy, WorkerView } from './types.js';

/**
 * The prototype's rule: a gpu worker with a free slot if any (least loaded
 * first), else the shortest queue overall.
 */
export const greedyGpu: Policy = (job, snapshot, rng) => {
  const eligible = snapshot.eligible(job.model);
  const freeGpus: WorkerView[] = [];
  for (const worker of eligible) if (worker.class === 'gpu' && worker.depth < worker.slots) freeGpus.push(worker);
  return (leastLoaded(freeGpus, rng) ?? leastLoaded(eligible, rng))?.id ?? null;
};
