import type { Rng } from '@sched/core';

/**
 * The item with the lowest score; ties broken uniformly at random (reservoir
 * sampling over the tied ones), so equally good workers share the load.
 */
export function leastBy<T>(items: Iterable<T>, score: (item: T) => number, rng: Rng): T | null {
  let best: T | null = null;
  let bestScore = Infinity;
  let ties = 0;
  for (const item of items) {
    const value = score(item);
    if (value < bestScore) {
      best = item;
      bestScore = value;
      ties = 1;
    } else if (value === bestScore && rng() * ++ties < 1) {
      best = item;
    }
  }
  return best;
}
