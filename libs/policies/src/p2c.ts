import { leastLoaded } from './jsq.js';
import type { Policy, WorkerView } from './types.js';

/** Power of two choices: two distinct workers at random, the one with less depth per slot (speed-blind). */
export const p2c: Policy = (job, snapshot, rng) => {
  const eligible = snapshot.eligible(job.model);
  const n = eligible.length;
  if (n <= 2) return leastLoaded(eligible, rng)?.id ?? null;
  const i = Math.floor(rng() * n);
  let j = Math.floor(rng() * (n - 1));
  if (j >= i) j++;
  return leastLoaded([eligible[i] as WorkerView, eligible[j] as WorkerView], rng)?.id ?? null;
};
