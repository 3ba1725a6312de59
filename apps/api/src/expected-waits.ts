import type { Redis } from 'ioredis';
import { SchedError, type KeySpace, type PublishedWaits } from '@sched/core';
import type { Logger } from '@sched/runtime';

/** An estimate older than this many refresh intervals is ignored (its dispatcher stopped publishing). */
const STALE_INTERVALS = 5;
/** Retry-After is at least 1 s and at most this. */
const MAX_RETRY_AFTER_S = 300;

export interface ExpectedWaitsOptions {
  readonly redis: Pick<Redis, 'get'>;
  readonly keys: Pick<KeySpace, 'expectedWait'>;
  /** MAX_EXPECTED_WAIT_MS: 0 turns the guard (and its reads) off. */
  readonly maxWaitMs: number;
  /** How often the published estimate is re-read (FLEET_REFRESH_MS: the dispatcher writes it that often). */
  readonly refreshMs: number;
  readonly logger: Pick<Logger, 'debug'>;
}

/**
 * The admission guard on expected wait: the dispatcher publishes, per model, how long a job
 * submitted now should wait before it starts (ExpectedWaitPublisher); this reads it once per
 * `refreshMs` in the background, so a submission costs no Redis command, and refuses a job whose
 * model's wait is over MAX_EXPECTED_WAIT_MS with 429 `overloaded`.
 *
 * An estimate is up to two intervals old when used, and under a heavy overload the jobs admitted
 * meanwhile would add far more than the limit; so it is carried forward as a fluid: the jobs this
 * process admitted since it was made add the estimate's cost per job, and the time since drains
 * it one ms per ms (the wait is queued work per slot). Clocks of the dispatcher and the API must
 * agree to well under the limit. Its Retry-After is the time
 * the backlog needs to drain down to the limit with no new work (the wait is queued work per slot,
 * and slots drain it one ms per ms). No estimate, or a stale one (no dispatcher publishing): admitted.
 */
export class ExpectedWaits {
  private published: PublishedWaits = { at: 0, waitMs: {}, perJobMs: {} };
  /** Admission times (ms) per model, since the estimate in use was made. */
  private readonly admittedAt = new Map<string, number[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ExpectedWaitsOptions) {}

  start(): void {
    if (this.options.maxWaitMs === 0) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    try {
      const text = await this.options.redis.get(this.options.keys.expectedWait);
      if (text === null) return;
      const published = JSON.parse(text) as PublishedWaits;
      this.published = published;
      // Jobs admitted before the estimate was made are in it.
      for (const [model, times] of this.admittedAt) {
        const first = times.findIndex((t) => t > published.at);
        if (first === -1) this.admittedAt.delete(model);
        else times.splice(0, first);
      }
    } catch (error) {
      // Redis down: submissions fail on their own; the last estimate ages out.
      this.options.logger.debug({ err: String(error) }, 'expected wait not read');
    }
  }

  /** The model's expected wait in ms (the estimate plus the jobs admitted here since), when a fresh estimate has one. */
  waitMs(model: string, now = Date.now()): number | undefined {
    const { at, waitMs, perJobMs } = this.published;
    if (now - at > STALE_INTERVALS * this.options.refreshMs) return undefined;
    const wait = waitMs[model];
    if (wait === undefined) return undefined;
    // Fluid: the jobs admitted since add their work per slot; the slots drained the queue meanwhile.
    return Math.max(0, wait + (this.admittedAt.get(model)?.length ?? 0) * (perJobMs[model] ?? 0) - Math.max(0, now - at));
  }

  /** Throws 429 `overloaded` when a job of `model` would wait longer than the limit. */
  check(model: string, now = Date.now()): void {
    const { maxWaitMs } = this.options;
    if (maxWaitMs === 0) return;
    const wait = this.waitMs(model, now);
    if (wait === undefined || wait <= maxWaitMs) return;
    const retryAfterS = Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil((wait - maxWaitMs) / 1000)));
    const detail = `a job of ${model} would wait about ${(wait / 1000).toFixed(1)} s to start, over this deployment's limit of ${maxWaitMs / 1000} s (MAX_EXPECTED_WAIT_MS); retry after ${retryAfterS} s`;
    throw new SchedError('overloaded', detail, { retryAfterS });
  }

  /**
   * A job of `model` was added (not a replay): it counts in the wait until the next estimate.
   * Jobs checked together and added after are all let in: the overshoot is the requests in flight at once.
   */
  admitted(model: string, now = Date.now()): void {
    if (this.options.maxWaitMs === 0) return;
    const times = this.admittedAt.get(model);
    if (times === undefined) this.admittedAt.set(model, [now]);
    else times.push(now);
  }
}
