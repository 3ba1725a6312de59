/** One fleet event, as every stream sends it: a snapshot, or word that Redis could not be read. */
export type FleetEvent = { readonly kind: 'fleet'; readonly data: string } | { readonly kind: 'unavailable' };

export interface FleetFeedOptions {
  /** Reads the fleet once and serialises the snapshot every stream sends (throws while Redis is unreachable). */
  read(): Promise<string>;
  intervalMs: number;
}

/**
 * One fleet snapshot per API process for every `/v1/fleet/stream` client: the fleet is read once
 * per interval however many streams follow it, and not at all while none does. A stream that joins
 * gets the last snapshot at once (or the first read, when it starts the feed).
 */
export class FleetFeed {
  private readonly listeners = new Set<(event: FleetEvent) => void>();
  private timer: NodeJS.Timeout | null = null;
  private last: FleetEvent | null = null;
  private reading = false;

  constructor(private readonly options: FleetFeedOptions) {}

  /** Follows the feed until the returned function is called. */
  follow(listener: (event: FleetEvent) => void): () => void {
    this.listeners.add(listener);
    if (this.timer === null) {
      this.timer = setInterval(() => this.tick(), this.options.intervalMs);
      this.tick();
    } else if (this.last !== null) listener(this.last);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.last = null;
  }

  private tick(): void {
    // A read slower than the interval is not stacked on: the next tick after it ends reads again.
    if (this.reading) return;
    this.reading = true;
    this.options
      .read()
      .then(
        (data) => this.publish({ kind: 'fleet', data }),
        () => this.publish({ kind: 'unavailable' }),
      )
      .finally(() => (this.reading = false));
  }

  private publish(event: FleetEvent): void {
    // A read that ends after the last stream left (or the feed was stopped) is dropped.
    if (this.timer === null) return;
    this.last = event;
    for (const listener of this.listeners) listener(event);
  }
}
