import type { Redis } from 'ioredis';
import type { KeySpace } from '@sched/core';
import { readFleetState, type Logger, type WorkerQueueState } from '@sched/runtime';
import type { FleetView } from './fleet-view.js';

export interface FleetRefreshOptions {
  readonly redis: Redis;
  readonly keys: KeySpace;
  readonly fleet: Pick<FleetView, 'apply' | 'markReadIssued'>;
  /** Called with every read (dead-worker recovery, the gauges, a late-binding round), in that order. */
  readonly onRead: (states: readonly WorkerQueueState[], now: number) => void;
  /** A model that had no worker now has one: parked jobs need not wait for their next re-check. */
  readonly onModelServed: () => Promise<unknown>;
  readonly intervalMs: number;
  readonly logger: Pick<Logger, 'warn'>;
}

/** Re-reads the fleet from Redis: every `intervalMs`, and when asked (a worker joined). */
export class FleetRefresh {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: FleetRefreshOptions) {}

  async refresh(): Promise<void> {
    const { redis, keys, fleet } = this.options;
    let readSeq = 0;
    const states = await readFleetState(redis, keys, () => (readSeq = fleet.markReadIssued()));
    const now = Date.now();
    const gained = fleet.apply(states, now, readSeq);
    this.options.onRead(states, now);
    if (gained) await this.options.onModelServed();
  }

  start(): void {
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.options.logger.warn({ err: String(error) }, 'fleet refresh failed'));
    }, this.options.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
