import type { Redis } from 'ioredis';
import type { KeySpace, PublishedWaits } from '@sched/core';
import { expectedWaits, type FleetSnapshot } from '@sched/policies';
import type { Logger } from '@sched/runtime';

export interface ExpectedWaitPublisherOptions {
  readonly redis: Pick<Redis, 'set'>;
  readonly keys: Pick<KeySpace, 'expectedWait'>;
  /** Every model of the catalog. */
  readonly models: readonly string[];
  readonly snapshot: Pick<FleetSnapshot, 'eligible' | 'expectedServiceMs'>;
  /** Jobs this dispatcher holds (late binding), by model; none without. */
  readonly heldByModel: () => ReadonlyMap<string, number>;
  /** Jobs in ingress not yet in a worker queue: waiting, or being routed (not those it holds). */
  readonly ingressWaiting: () => Promise<number>;
  /** The estimate expires this long after it was written; an API also ignores one older than a few refreshes. */
  readonly ttlMs: number;
  readonly logger: Pick<Logger, 'debug'>;
}

/**
 * Publishes every `expectedWaitIntervalMs` (the fleet view between its reads counts this
 * dispatcher's own dispatches and completions) the expected wait of a job of each model submitted
 * now (`expectedWaits`), as one JSON string (`PublishedWaits`; a model no live worker serves is
 * absent). The API reads it as often for its admission guard (MAX_EXPECTED_WAIT_MS): it sees
 * neither the jobs held here nor the queues' work, so the dispatcher tells it.
 * With several dispatchers the last writer wins (each counts only the jobs it holds).
 */
export class ExpectedWaitPublisher {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ExpectedWaitPublisherOptions) {}

  async publish(now: number): Promise<void> {
    const { redis, keys, models, snapshot, ttlMs } = this.options;
    const ingressWaiting = await this.options.ingressWaiting();
    const waits = expectedWaits(models, snapshot, { heldByModel: this.options.heldByModel(), ingressWaiting });
    const published: PublishedWaits = { at: now, waitMs: {}, perJobMs: {} };
    for (const [model, wait] of waits) {
      if (wait === null) continue;
      published.waitMs[model] = Math.round(wait.waitMs);
      published.perJobMs[model] = Math.round(wait.perJobMs * 1000) / 1000;
    }
    await redis.set(keys.expectedWait, JSON.stringify(published), 'PX', ttlMs);
  }

  /** Publishes every `intervalMs` (see expectedWaitIntervalMs) from the fleet view as it stands; a failed publish is retried at the next. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.publish(Date.now()).catch((error: unknown) => this.options.logger.debug({ err: String(error) }, 'expected wait not published'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
