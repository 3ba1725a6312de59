import { describe, expect, it } from 'vitest';
import { closeWithin, type Closable } from '../src/close-within.js';

/** A closable whose graceful close takes `gracefulMs` (never, when null); records how it was closed. */
function closable(gracefulMs: number | null): Closable & { calls: (boolean | undefined)[] } {
  const calls: (boolean | undefined)[] = [];
  return {
    calls,
    close(force?: boolean): Promise<void> {
      calls.push(force);
      if (force === true) return Promise.resolve();
      return gracefulMs === null ? new Promise<void>(() => undefined) : new Promise<void>((resolve) => setTimeout(resolve, gracefulMs));
    },
  };
}

describe('closeWithin', () => {
  it('closes gracefully when that ends before the deadline, without forcing', async () => {
    const target = closable(10);
    expect(await closeWithin(target, 1000)).toBe(true);
    expect(target.calls).toEqual([undefined]);
  });

  it('force-closes once the deadline passes', async () => {
    const target = closable(null);
    const started = Date.now();
    expect(await closeWithin(target, 50)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(target.calls).toEqual([undefined, true]);
  });
});
