import type { Redis } from 'ioredis';
import { INGRESS_QUEUE, type KeySpace, type QueueStateKey } from '@sched/core';
import type { Logger } from '@sched/runtime';

export interface IngressWaitingOptions {
  readonly redis: Pick<Redis, 'multi' | 'zmscore'>;
  readonly keys: Pick<KeySpace, 'queueKey' | 'jobIndexByModel'>;
  /** Every model of the catalog. */
  readonly models: readonly string[];
  /**
   * Ids read from each ingress state; past it, the model mix of these (for `prioritized`, the
   * highest-priority ones) is scaled to the state's count. @defaultValue 1000
   */
  readonly sampleSize?: number;
  readonly logger: Pick<Logger, 'debug'>;
}

/** Lists and sorted sets that hold an ingress job not yet in a worker queue. */
const LISTS = ['wait', 'paused', 'active'] as const satisfies readonly QueueStateKey[];
const SORTED_SETS = ['prioritized', 'delayed'] as const satisfies readonly QueueStateKey[];

/**
 * Jobs in the ingress queue by model, read from Redis: waiting to be taken (`prioritized`, `wait`,
 * `paused`), taken by some dispatcher and not yet in a worker queue (`active`: `sed-late`'s held
 * jobs, a job being routed) and parked or backing off (`delayed`). The same answer in every
 * dispatcher, since it reads shared state only. An ingress job carries its model only in its data,
 * which can be large; its listing-index entry (`jobIndexByModel`, written at submission) tells the
 * model from the id alone, so a read is the ids (one MULTI over the ingress queue's keys, a
 * consistent snapshot: a job moving between states is seen once) and one ZMSCORE per model.
 * A job with no index entry (its index write failed) counts for no model.
 */
export class IngressWaiting {
  private counts: ReadonlyMap<string, number> = new Map();
  private reading: Promise<void> | null = null;
  private readonly sampleSize: number;

  constructor(private readonly options: IngressWaitingOptions) {
    this.sampleSize = options.sampleSize ?? 1000;
  }

  /** The counts of the last read that succeeded (empty before the first). */
  latest(): ReadonlyMap<string, number> {
    return this.counts;
  }

  /** Starts a read unless one is under way; a failed read keeps the previous counts. */
  refresh(): Promise<void> {
    this.reading ??= this.read()
      .then((counts) => {
        this.counts = counts;
      })
      .catch((error: unknown) => this.options.logger.debug({ err: String(error) }, 'ingress waiting jobs not read'))
      .finally(() => {
        this.reading = null;
      });
    return this.reading;
  }

  async read(): Promise<ReadonlyMap<string, number>> {
    const { redis, keys, models } = this.options;
    const last = this.sampleSize - 1;
    const snapshot = redis.multi();
    for (const state of LISTS) snapshot.llen(keys.queueKey(INGRESS_QUEUE, state)).lrange(keys.queueKey(INGRESS_QUEUE, state), 0, last);
    for (const state of SORTED_SETS) snapshot.zcard(keys.queueKey(INGRESS_QUEUE, state)).zrange(keys.queueKey(INGRESS_QUEUE, state), 0, last);
    const replies = (await snapshot.exec()) ?? [];
    const samples: { ids: string[]; scale: number }[] = [];
    for (let i = 0; i + 1 < replies.length; i += 2) {
      const [countError, count] = replies[i] ?? [null, 0];
      const [idsError, ids] = replies[i + 1] ?? [null, []];
      if (countError) throw countError;
      if (idsError) throw idsError;
      const sampled = ids as string[];
      if (sampled.length > 0) samples.push({ ids: sampled, scale: Math.max(1, Number(count) / sampled.length) });
    }
    const byModel = new Map<string, number>(models.map((model) => [model, 0]));
    if (samples.length === 0) return byModel;
    const ids = samples.flatMap((sample) => sample.ids);
    const scales = samples.flatMap((sample) => sample.ids.map(() => sample.scale));
    // One command per index key (each its own key, so none spans two slots); sent together.
    const scores = await Promise.all(models.map((model) => redis.zmscore(keys.jobIndexByModel(model), ...ids)));
    const found = new Set<number>();
    models.forEach((model, m) => {
      let count = 0;
      (scores[m] ?? []).forEach((score, i) => {
        // A job has one model; the first index that lists it wins (ids are never reused across models).
        if (score === null || found.has(i)) return;
        found.add(i);
        count += scales[i] ?? 1;
      });
      byModel.set(model, Math.round(count));
    });
    return byModel;
  }
}
