export interface BatcherOptions {
  /**
   * Most jobs of one model per execution.
   * @defaultValue 1 (no batching: every job fires alone, at once)
   */
  maxBatch?: number;
  /**
   * A partial batch fires once its oldest job has waited this long.
   * @defaultValue 0
   */
  maxQueueDelayMs?: number;
}

/** Jobs of one model that run as one execution. */
export interface Batch<T> {
  readonly model: string;
  readonly items: T[];
}

/** One model's waiting jobs in rank order (arrival order among equal ranks); a moving head avoids Array#shift's O(n). */
class ModelQueue<T> {
  items: T[] = [];
  times: number[] = [];
  ranks: number[] = [];
  head = 0;

  constructor(readonly model: string) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** After every job of a rank ≤ `rank` (a push when ranks arrive in order, as arrival times do). */
  insert(item: T, time: number, rank: number): void {
    const { items, times, ranks } = this;
    const end = items.length;
    if (end === this.head || (ranks[end - 1] as number) <= rank) {
      items.push(item);
      times.push(time);
      ranks.push(rank);
      return;
    }
    let lo = this.head;
    let hi = end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ranks[mid] as number) <= rank) lo = mid + 1;
      else hi = mid;
    }
    items.splice(lo, 0, item);
    times.splice(lo, 0, time);
    ranks.splice(lo, 0, rank);
  }

  take(count: number): T[] {
    const taken = this.items.slice(this.head, this.head + count);
    this.head += count;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.times.length = 0;
      this.ranks.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.times = this.times.slice(this.head);
      this.ranks = this.ranks.slice(this.head);
      this.head = 0;
    }
    return taken;
  }
}

/**
 * Triton-style dynamic batching for one worker, with the clock passed in so
 * the live worker and the simulator share it. Only jobs of the same model are
 * batched. The owner calls `poll(now)` whenever it has a free slot: a batch
 * fires when `maxBatch` jobs of one model wait, or when the oldest of a model
 * has waited `maxQueueDelayMs`; otherwise `nextWakeAt()` says when to poll again.
 */
export class Batcher<T> {
  readonly maxBatch: number;
  readonly maxQueueDelayMs: number;
  private readonly queues: ModelQueue<T>[] = [];
  private readonly byModel = new Map<string, ModelQueue<T>>();
  private queuedCount = 0;

  constructor(options: BatcherOptions = {}) {
    const { maxBatch = 1, maxQueueDelayMs = 0 } = options;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch: expected a positive integer, got ${maxBatch}`);
    if (!(maxQueueDelayMs >= 0)) throw new RangeError(`maxQueueDelayMs: expected a non-negative number, got ${maxQueueDelayMs}`);
    this.maxBatch = maxBatch;
    this.maxQueueDelayMs = maxQueueDelayMs;
  }

  /** Jobs waiting, all models together. */
  get size(): number {
    return this.queuedCount;
  }

  /**
   * Queues `item` at `now`. `rank` orders it among its model's waiting jobs (lower first, arrival
   * order among equals), as a BullMQ priority orders a worker queue: the simulator passes a job's
   * fair rank; without one, jobs wait in arrival order.
   */
  add(item: T, model: string, now: number, rank = now): void {
    let queue = this.byModel.get(model);
    if (queue === undefined) {
      queue = new ModelQueue<T>(model);
      this.byModel.set(model, queue);
      this.queues.push(queue);
    }
    queue.insert(item, now, rank);
    this.queuedCount++;
  }

  /** The batch to start now, or null when none is due (then ask `nextWakeAt()`). Lowest-ranked head first (oldest, without ranks). */
  poll(now: number): Batch<T> | null {
    let full: ModelQueue<T> | null = null;
    let due: ModelQueue<T> | null = null;
    for (const queue of this.queues) {
      const length = queue.length;
      if (length === 0) continue;
      const rank = queue.ranks[queue.head] as number;
      if (length >= this.maxBatch) {
        if (full === null || rank < (full.ranks[full.head] as number)) full = queue;
      } else if ((queue.times[queue.head] as number) + this.maxQueueDelayMs <= now) {
        if (due === null || rank < (due.ranks[due.head] as number)) due = queue;
      }
    }
    const chosen = full ?? due;
    if (chosen === null) return null;
    const items = chosen.take(Math.min(this.maxBatch, chosen.length));
    this.queuedCount -= items.length;
    return { model: chosen.model, items };
  }

  /** Moves every waiting job `steps` ranks down (not below 0), keeping their order (a fair band's rebase). */
  shiftRanks(steps: number): void {
    for (const queue of this.queues) {
      const ranks = queue.ranks;
      for (let i = queue.head; i < ranks.length; i++) ranks[i] = Math.max(0, (ranks[i] as number) - steps);
    }
  }

  /** The lowest rank waiting (the next job in rank order), or null when nothing waits. */
  headRank(): number | null {
    let head: number | null = null;
    for (const queue of this.queues) {
      if (queue.length === 0) continue;
      const rank = queue.ranks[queue.head] as number;
      if (head === null || rank < head) head = rank;
    }
    return head;
  }

  /** When the oldest partial batch times out; null when nothing waits. */
  nextWakeAt(): number | null {
    let wake: number | null = null;
    for (const queue of this.queues) {
      if (queue.length === 0) continue;
      const at = (queue.times[queue.head] as number) + this.maxQueueDelayMs;
      if (wake === null || at < wake) wake = at;
    }
    return wake;
  }
}
