import type { Rng } from '@sched/core';

/** A set of small integers with O(1) add, delete and uniform random pick. */
export class IndexedSet {
  private readonly members: number[] = [];
  private readonly positions: Int32Array;

  constructor(universe: number) {
    this.positions = new Int32Array(universe).fill(-1);
  }

  get size(): number {
    return this.members.length;
  }

  add(value: number): void {
    if (this.positions[value] !== -1) return;
    this.positions[value] = this.members.length;
    this.members.push(value);
  }

  delete(value: number): void {
    const at = this.positions[value] as number;
    if (at === -1) return;
    const last = this.members.pop() as number;
    if (last !== value) {
      this.members[at] = last;
      this.positions[last] = at;
    }
    this.positions[value] = -1;
  }

  pick(rng: Rng): number {
    return this.members[Math.floor(rng() * this.members.length)] as number;
  }
}
