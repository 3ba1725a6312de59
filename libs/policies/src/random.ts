import type { Policy } from './types.js';

/** Uniform over eligible workers: the baseline that ignores load and speed. */
export const random: Policy = (job, snapshot, rng) => {
  const eligible = snapshot.eligible(job.model);
  if (eligible.length === 0) return null;
  return eligible[Math.floor(rng() * eligible.length)]?.id ?? null;
};
