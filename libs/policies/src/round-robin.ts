import type { Policy } from './types.js';

/**
 * Each eligible worker in turn, one counter per model. The counter is the
 * policy's own state, so every call of this factory starts a fresh rotation.
 */
export function createRoundRobin(): Policy {
  const next = new Map<string, number>();
  return (job, snapshot) => {
    const eligible = snapshot.eligible(job.model);
    if (eligible.length === 0) return null;
    const turn = next.get(job.model) ?? 0;
    next.set(job.model, (turn + 1) % eligible.length);
    return eligible[turn % eligible.length]?.id ?? null;
  };
}
