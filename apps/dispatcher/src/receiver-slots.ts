/** Weight of the newest attempt in a receiver's average attempt time. */
const EWMA_WEIGHT = 0.3;
/** A capped delivery is looked at again no sooner than this. */
const MIN_WAIT_MS = 50;

export interface ReceiverSlotsOptions {
  /** Deliveries in flight to one receiver at most (WEBHOOK_MAX_PER_RECEIVER). */
  readonly maxPerReceiver: number;
  /** The longest an attempt can take (WEBHOOK_TIMEOUT_MS): a capped delivery never waits longer than this. */
  readonly timeoutMs: number;
  /** @defaultValue Date.now */
  readonly now?: () => number;
  /** @defaultValue Math.random */
  readonly random?: () => number;
}

/** A slot held: give it back once the attempt is over. */
export type ReleaseSlot = () => void;

/**
 * The delivery slots each webhook receiver (a URL origin) may hold in this process, so one receiver
 * that never answers holds at most `maxPerReceiver` of the sender's WEBHOOK_CONCURRENCY slots for a
 * timeout each, not all of them. A delivery that finds its receiver at the cap is put back for
 * about as long as that receiver's attempts take — its recent average, or how long the oldest one
 * in flight has been waiting if that is longer (short for a fast receiver, up to the timeout for
 * a black hole) — so it neither holds a slot while it waits nor spins.
 */
/** Receivers whose average attempt time is remembered, the least recently used forgotten first. */
const MAX_RECEIVERS_REMEMBERED = 10_000;

export class ReceiverSlots {
  /** Start times of the attempts in flight, per receiver. */
  private readonly inFlight = new Map<string, number[]>();
  /** Average attempt time per receiver (ms). */
  private readonly attemptMs = new Map<string, number>();
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: ReceiverSlotsOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** Takes a slot of `receiver` if it has one free. */
  tryAcquire(receiver: string): ReleaseSlot | null {
    const started = this.inFlight.get(receiver) ?? [];
    if (started.length >= this.options.maxPerReceiver) return null;
    const at = this.now();
    started.push(at);
    this.inFlight.set(receiver, started);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      started.splice(started.indexOf(at), 1);
      if (started.length === 0) this.inFlight.delete(receiver);
      const took = this.now() - at;
      const average = this.attemptMs.get(receiver);
      // Re-inserted, so the map is in order of last use, and bounded: receivers are clients' URLs.
      this.attemptMs.delete(receiver);
      this.attemptMs.set(receiver, average === undefined ? took : average + EWMA_WEIGHT * (took - average));
      if (this.attemptMs.size > MAX_RECEIVERS_REMEMBERED) this.attemptMs.delete(this.attemptMs.keys().next().value as string);
    };
  }

  /** How long a delivery to `receiver`, found at the cap, waits before it is tried again (±50 %). */
  waitMs(receiver: string): number {
    const oldest = Math.min(...(this.inFlight.get(receiver) ?? [this.now()]));
    const typical = Math.max(this.attemptMs.get(receiver) ?? 0, this.now() - oldest);
    const bounded = Math.min(this.options.timeoutMs, Math.max(MIN_WAIT_MS, typical));
    return Math.round(bounded * (0.5 + this.random()));
  }

  /** Deliveries in flight to `receiver` now. */
  busy(receiver: string): number {
    return this.inFlight.get(receiver)?.length ?? 0;
  }
}
