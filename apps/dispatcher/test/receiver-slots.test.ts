import { describe, expect, it } from 'vitest';
import { ReceiverSlots } from '../src/receiver-slots.js';

function slots(now: { t: number }) {
  return new ReceiverSlots({ maxPerReceiver: 2, timeoutMs: 10_000, now: () => now.t, random: () => 0.5 });
}

describe('ReceiverSlots', () => {
  it('gives each receiver at most its cap of slots, independently of the others', () => {
    const s = slots({ t: 0 });
    const a1 = s.tryAcquire('http://a');
    const a2 = s.tryAcquire('http://a');
    expect(a1).not.toBeNull();
    expect(a2).not.toBeNull();
    expect(s.tryAcquire('http://a')).toBeNull();
    expect(s.tryAcquire('http://b')).not.toBeNull();
    a1?.();
    a1?.();
    expect(s.busy('http://a')).toBe(1);
    expect(s.tryAcquire('http://a')).not.toBeNull();
  });

  it('makes a capped delivery wait about as long as the receiver takes: short for a fast one, up to the timeout for a black hole', () => {
    const now = { t: 0 };
    const s = slots(now);
    for (let i = 0; i < 5; i++) {
      const release = s.tryAcquire('http://fast');
      now.t += 20;
      release?.();
    }
    expect(s.waitMs('http://fast')).toBe(50);
    s.tryAcquire('http://hole');
    s.tryAcquire('http://hole');
    now.t += 4000;
    // Its attempts have been open 4 s: a capped delivery waits that long, not 50 ms.
    expect(s.waitMs('http://hole')).toBe(4000);
    now.t += 60_000;
    expect(s.waitMs('http://hole')).toBe(10_000);
  });
});
