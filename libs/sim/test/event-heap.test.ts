import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventHeap } from '../src/index.js';

describe('EventHeap', () => {
  it('pops events in time order, growing past its initial capacity', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { maxLength: 500 }), (times) => {
        const heap = new EventHeap(2);
        times.forEach((t, i) => heap.push(t, i));
        const popped: number[] = [];
        while (heap.size > 0) {
          popped.push(heap.peekTime());
          expect(times[heap.peekPayload()]).toBe(heap.peekTime());
          heap.pop();
        }
        expect(popped).toEqual([...times].sort((a, b) => a - b));
      }),
    );
  });
});
