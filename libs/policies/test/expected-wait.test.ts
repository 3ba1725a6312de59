import { describe, expect, it } from 'vitest';
import { FleetIndex, expectedWaits } from '../src/index.js';

const SERVICE_MS: Record<string, number> = { gpu: 10, cpu: 40 };

function fleet(): FleetIndex {
  return new FleetIndex(
    [
      { id: 'gpu-0', class: 'gpu', slots: 2, models: ['m', 'n'] },
      { id: 'cpu-0', class: 'cpu', slots: 4, models: ['m'] },
    ],
    { expectedServiceMs: (_model, cls) => SERVICE_MS[cls] ?? 1 },
  );
}

describe('expectedWaits', () => {
  it('is 0 while a worker serving the model has a free slot, and null for a model no live worker serves', () => {
    const index = fleet();
    index.refresh(index.indexOf('gpu-0'), { depth: 1, queuedWorkMs: 10 });
    const waits = expectedWaits(['m', 'n', 'gone'], index);
    expect(waits.get('m')?.waitMs).toBe(0);
    expect(waits.get('n')?.waitMs).toBe(0);
    // Each further job adds its mean service time over the slots: m (10 + 40) / 2 over 6 slots, n 10 over 2.
    expect(waits.get('m')?.perJobMs).toBeCloseTo(25 / 6);
    expect(waits.get('n')?.perJobMs).toBe(5);
    expect(waits.get('gone')).toBeNull();
  });

  it('takes the least queued work per slot among the workers that serve the model', () => {
    const index = fleet();
    // Queued work per slot, less half a job (the running ones are half done on average).
    index.refresh(index.indexOf('gpu-0'), { depth: 10, queuedWorkMs: 100 }); // 50 - 5 ms
    index.refresh(index.indexOf('cpu-0'), { depth: 8, queuedWorkMs: 320 }); // 80 - 20 ms
    const waits = expectedWaits(['m', 'n'], index);
    expect(waits.get('m')?.waitMs).toBe(45);
    expect(waits.get('n')?.waitMs).toBe(45);
    index.refresh(index.indexOf('gpu-0'), { depth: 40, queuedWorkMs: 400 }); // 200 - 5 ms
    expect(expectedWaits(['m', 'n'], index).get('m')?.waitMs).toBe(60);
    expect(expectedWaits(['m', 'n'], index).get('n')?.waitMs).toBe(195);
  });

  it('spreads the backlog (held and ingress jobs) over the slots that serve the model', () => {
    const index = fleet();
    index.refresh(index.indexOf('gpu-0'), { depth: 2, queuedWorkMs: 20 }); // both slots busy: 10 - 5 ms
    index.refresh(index.indexOf('cpu-0'), { depth: 4, queuedWorkMs: 160 }); // 40 - 20 ms
    // m's mean service is (10 + 40) / 2 = 25 ms, n's 10 ms; the typical job (ingress) (25 + 10) / 2 = 17.5 ms.
    const waits = expectedWaits(['m', 'n'], index, { heldByModel: new Map([['m', 12], ['n', 6]]), ingressWaiting: 4 });
    const backlogMs = 12 * 25 + 6 * 10 + 4 * 17.5;
    expect(waits.get('m')?.waitMs).toBeCloseTo(5 + backlogMs / 6);
    expect(waits.get('n')?.waitMs).toBeCloseTo(5 + backlogMs / 2);
  });

  it('ignores draining and dead workers', () => {
    const index = fleet();
    index.refresh(index.indexOf('cpu-0'), { depth: 8, queuedWorkMs: 320 });
    index.setState(index.indexOf('gpu-0'), 'draining');
    expect(expectedWaits(['m', 'n'], index).get('m')?.waitMs).toBe(60);
    expect(expectedWaits(['m', 'n'], index).get('n')).toBeNull();
  });
});
