import { latestStartAt, PRIORITIES, type Catalog, type Priority } from '@sched/core';
import type { FleetSnapshot, RoutableJob } from './types.js';

/** What the held queue reads of a held job. */
export interface HeldJob extends RoutableJob {
  /** Submission time: orders the jobs of one priority (a job that comes back keeps its place). */
  readonly createdAt: number;
  /**
   * Its tenant's fair start tag (`FairBand.holdTag`; live, the dispatcher's hold script): when present
   * it orders the job instead of `createdAt`, so tenants share by weight. Tags are virtual times,
   * not timestamps: a dispatcher holds jobs with tags, or (fair sharing off, no keys) without.
   */
  readonly fairStart?: number | undefined;
}

/** Where a held job goes in its band: its fair start tag, else its submission time. */
function orderOf(job: HeldJob): number {
  return job.fairStart ?? job.createdAt;
}

export interface HeldJobsOptions<T> {
  /** The job an item holds. It may return a reused object: it is read at once, never kept. */
  readonly jobOf: (item: T) => HeldJob;
  /** The catalog's models, for the latest start of a job with a deadline (`latestStartAt`). */
  readonly models: Catalog['models'];
  /**
   * Jobs held at most. One more, and the first held job of its model leaves the queue to be bound
   * at once (live: BullMQ's consumer concurrency must keep room for jobs of other models).
   * @defaultValue Infinity
   */
  readonly capacity?: number;
}

const RANK: Readonly<Record<Priority, number>> = Object.freeze(Object.fromEntries(PRIORITIES.map((p, i) => [p, i])) as Record<Priority, number>);
/** A band's cleared head is given back once it is this long and over half the array. */
const RECLAIM_HEAD = 1024;

/**
 * The jobs a late-binding dispatcher holds, in the order they are offered to workers: by priority
 * (high, normal, low), then fair start tag (submission time without one), then arrival. The live dispatcher and the simulator
 * hold their jobs here, so both bind in the same order.
 *
 * Built for the simulator's scale (thousands held, a million passing through): one band per
 * priority, each an array with a moving head. Arrivals come in time order, so an add is a push
 * (a job that comes back late is placed by binary search); a round binds jobs near the front,
 * and its removals shift only the elements before them. Jobs with a deadline also sit in a heap
 * by latest start, so expiring them costs nothing while none is due.
 */
export class HeldJobs<T> {
  private readonly bands: Band<T>[] = PRIORITIES.map(() => new Band<T>());
  private readonly jobOf: (item: T) => HeldJob;
  private readonly models: Catalog['models'];
  private readonly capacity: number;
  private readonly heldByModel = new Map<string, number>();
  private readonly expiry = new ExpiryHeap<T>();
  /** Held items with a deadline (an item bound meanwhile stays in the heap until its turn). */
  private readonly expiring = new Set<T>();
  private size = 0;

  constructor(options: HeldJobsOptions<T>) {
    this.jobOf = options.jobOf;
    this.models = options.models;
    this.capacity = options.capacity ?? Infinity;
    if (!(this.capacity >= 1)) throw new RangeError(`capacity: expected at least 1, got ${this.capacity}`);
  }

  get count(): number {
    return this.size;
  }

  /** Items held now, by model (zero counts included). */
  get byModel(): ReadonlyMap<string, number> {
    return this.heldByModel;
  }

  /** The fair start tag of the first item held at `priority`; null when none is held, or it has none. */
  headFairStart(priority: Priority): number | null {
    const band = this.bands[RANK[priority]] as Band<T>;
    return band.length === 0 ? null : (this.jobOf(band.get(0)).fairStart ?? null);
  }

  /** The `index`-th held item in order (0 goes first). */
  at(index: number): T {
    for (const band of this.bands) {
      const length = band.length;
      if (index < length) return band.get(index);
      index -= length;
    }
    throw new RangeError(`held job ${index} beyond the ${this.size} held`);
  }

  /**
   * Holds `item`. Returns the item to bind at once when the queue was full: the first held job of
   * the new job's model (which may be the new job itself); otherwise undefined.
   */
  add(item: T): T | undefined {
    const job = this.jobOf(item);
    const { model, deadlineMs } = job;
    const band = this.bands[RANK[job.priority]] as Band<T>;
    band.insert(item, orderOf(job));
    if (deadlineMs !== undefined) {
      this.expiry.push(latestStartAt(this.models, job) ?? Infinity, item);
      this.expiring.add(item);
    }
    this.counted(model, 1);
    if (this.size <= this.capacity) return undefined;
    for (let index = 0; index < this.size; index++) {
      const first = this.at(index);
      if (this.jobOf(first).model === model) {
        this.removeAt([index]);
        return first;
      }
    }
    return undefined;
  }

  /** Removes `item` (bound elsewhere, cancelled, its lock lost); false when it is not held. */
  remove(item: T): boolean {
    const job = this.jobOf(item);
    const band = this.bands[RANK[job.priority]] as Band<T>;
    const position = band.find(item, orderOf(job));
    if (position === -1) return false;
    this.forget(item, job.model);
    band.removeSorted([position], 0, 1);
    return true;
  }

  /** Removes the items at these positions of the current order (any order; sorted here). */
  removeAt(indices: number[]): void {
    if (indices.length === 0) return;
    indices.sort((a, b) => a - b);
    for (const index of indices) {
      const item = this.at(index);
      this.forget(item, this.jobOf(item).model);
    }
    let offset = 0;
    let next = 0;
    for (const band of this.bands) {
      const length = band.length;
      const start = next;
      while (next < indices.length && (indices[next] as number) < offset + length) {
        indices[next] = (indices[next] as number) - offset;
        next++;
      }
      if (next > start) band.removeSorted(indices, start, next);
      offset += length;
    }
  }

  /**
   * Before a round: removes and parks every job of a model no eligible worker serves, and removes
   * and expires every job with a deadline whose latest start is before `now`.
   */
  sweep(now: number, snapshot: Pick<FleetSnapshot, 'eligible'>, park: (item: T) => void, expire: (item: T) => void): void {
    for (const [model, count] of this.heldByModel) {
      if (count > 0 && snapshot.eligible(model).length === 0) this.removeModel(model, park);
    }
    while (this.expiry.size > 0 && this.expiry.peekAt() < now) {
      const item = this.expiry.pop();
      if (this.expiring.has(item) && this.remove(item)) expire(item);
    }
  }

  /** Removes and returns every held item, in order. */
  drain(): T[] {
    const items: T[] = [];
    for (let index = 0; index < this.size; index++) items.push(this.at(index));
    for (const band of this.bands) band.clear();
    this.heldByModel.clear();
    this.expiring.clear();
    this.expiry.clear();
    this.size = 0;
    return items;
  }

  private removeModel(model: string, park: (item: T) => void): void {
    const removed: T[] = [];
    for (const band of this.bands) {
      const positions: number[] = [];
      for (let i = 0; i < band.length; i++) if (this.jobOf(band.get(i)).model === model) positions.push(i);
      for (const position of positions) removed.push(band.get(position));
      if (positions.length > 0) band.removeSorted(positions, 0, positions.length);
    }
    for (const item of removed) this.forget(item, model);
    for (const item of removed) park(item);
  }

  private forget(item: T, model: string): void {
    if (this.expiring.size > 0) this.expiring.delete(item);
    this.counted(model, -1);
  }

  private counted(model: string, delta: 1 | -1): void {
    this.size += delta;
    this.heldByModel.set(model, (this.heldByModel.get(model) ?? 0) + delta);
  }
}

/** One priority's jobs by submission time: `items[head…]`, with `ats` their submission times. */
class Band<T> {
  private items: (T | undefined)[] = [];
  private ats: number[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  get(index: number): T {
    return this.items[this.head + index] as T;
  }


  /** After every job submitted at or before `at`: arrival order among equal times. */
  insert(item: T, at: number): void {
    const { items, ats } = this;
    const end = items.length;
    if (end === this.head || (ats[end - 1] as number) <= at) {
      items.push(item);
      ats.push(at);
      return;
    }
    let lo = this.head;
    let hi = end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ats[mid] as number) <= at) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.head && this.head > 0) {
      this.head--;
      items[this.head] = item;
      ats[this.head] = at;
    } else {
      items.splice(lo, 0, item);
      ats.splice(lo, 0, at);
    }
  }

  /** Position of `item` (submitted at `at`), or -1. */
  find(item: T, at: number): number {
    const { items, ats } = this;
    let lo = this.head;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ats[mid] as number) < at) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < items.length && ats[i] === at; i++) if (items[i] === item) return i - this.head;
    return -1;
  }

  /**
   * Removes the positions `positions[from…to)` (ascending), keeping the order of the rest. Those in
   * the front half are closed up by shifting the elements before them back (the head moves up),
   * those in the back half by shifting the ones after them forward: a round's removals, near the
   * front, cost what lies before them, not the whole band.
   */
  removeSorted(positions: readonly number[], from: number, to: number): void {
    const { items, ats } = this;
    const head = this.head;
    const half = this.length / 2;
    let split = from;
    while (split < to && (positions[split] as number) < half) split++;
    if (split < to) {
      let write = head + (positions[split] as number);
      let next = split;
      for (let read = write; read < items.length; read++) {
        if (next < to && read - head === positions[next]) {
          next++;
          continue;
        }
        items[write] = items[read];
        ats[write] = ats[read] as number;
        write++;
      }
      items.length = write;
      ats.length = write;
    }
    if (split > from) {
      let write = head + (positions[split - 1] as number);
      let next = split - 1;
      for (let read = write; read >= head; read--) {
        if (next >= from && read - head === positions[next]) {
          next--;
          continue;
        }
        items[write] = items[read];
        ats[write] = ats[read] as number;
        write--;
      }
      for (let i = head; i <= write; i++) items[i] = undefined;
      this.head = write + 1;
    }
    this.reclaim();
  }

  clear(): void {
    this.items = [];
    this.ats = [];
    this.head = 0;
  }

  private reclaim(): void {
    if (this.head === this.items.length) this.clear();
    else if (this.head >= RECLAIM_HEAD && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.ats = this.ats.slice(this.head);
      this.head = 0;
    }
  }
}

/** A binary min-heap of items by time. */
class ExpiryHeap<T> {
  private readonly ats: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.ats.length;
  }

  peekAt(): number {
    return this.ats[0] as number;
  }

  push(at: number, item: T): void {
    const { ats, items } = this;
    let i = ats.length;
    ats.push(at);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if ((ats[parent] as number) <= at) break;
      ats[i] = ats[parent] as number;
      items[i] = items[parent] as T;
      i = parent;
    }
    ats[i] = at;
    items[i] = item;
  }

  pop(): T {
    const { ats, items } = this;
    const top = items[0] as T;
    const lastAt = ats.pop() as number;
    const lastItem = items.pop() as T;
    const n = ats.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && (ats[child + 1] as number) < (ats[child] as number)) child++;
        if ((ats[child] as number) >= lastAt) break;
        ats[i] = ats[child] as number;
        items[i] = items[child] as T;
        i = child;
      }
      ats[i] = lastAt;
      items[i] = lastItem;
    }
    return top;
  }

  clear(): void {
    this.ats.length = 0;
    this.items.length = 0;
  }
}
