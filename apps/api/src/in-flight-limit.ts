import type { Redis } from 'ioredis';
import { isTerminal, redisUnavailable, type JobView, type KeySpace, type StatusMessage } from '@sched/core';
import type { Logger } from '@sched/runtime';

/**
 * Admits the leading ids while the owner's set has room: an id already in it (a replayed
 * Idempotency-Key of an unfinished job) counts as admitted and takes no second place.
 * KEYS[1] the owner's set; ARGV: max, now (ms), ttl (ms), ids… Returns how many were admitted,
 * and the ids it added (not those already there: only these may be given back).
 */
const RESERVE = `
local max = tonumber(ARGV[1])
local count = redis.call('ZCARD', KEYS[1])
local admitted = 0
local added = {}
for i = 4, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    admitted = admitted + 1
  elseif count < max then
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i])
    count = count + 1
    admitted = admitted + 1
    added[#added + 1] = ARGV[i]
  else
    break
  end
end
if admitted > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {admitted, added}
`;

/** A full set is checked against the jobs' real states at most this often per owner and process. */
const RECONCILE_INTERVAL_MS = 1000;
const READ_CHUNK = 100;

type ReserveRedis = Redis & { schedReserveInFlight(key: string, max: number, now: number, ttlMs: number, ...ids: string[]): Promise<[number, string[]]> };

/** What a reservation got: how many leading ids fit, and the places it took (to give back if their jobs are not added). */
export interface Reservation {
  readonly admitted: number;
  readonly added: readonly string[];
}

export interface InFlightLimitOptions {
  /** The API's plain connection (fail-fast, with a command timeout). */
  readonly redis: Redis;
  readonly keys: Pick<KeySpace, 'inFlight'>;
  /** Reads jobs' views (to find the finished ones a full set still counts). */
  readonly readMany: (ids: readonly string[]) => Promise<(JobView | null)[]>;
  /** A set lives this long after its last admission (the longest a job can stay unfinished and retained). */
  readonly ttlMs: number;
  readonly logger: Pick<Logger, 'debug'>;
}

/**
 * Per-key max jobs in flight, across API replicas: one Redis sorted set per owner with a limit
 * holds its unfinished jobs. A submission reserves its places atomically before the add (one
 * script call; none for an owner without a limit); a job leaves the set when this process sees
 * its end on the status channel (it remembers which owner each job it admitted belongs to). Ends
 * it did not see (another replica, a restart, a lost message) are found when the set is full:
 * then its members are read (at most once a second per owner) and the finished or unknown ones
 * removed before the owner is refused. Refusals are 429 `too_many_in_flight`.
 */
export class InFlightLimit {
  private readonly redis: ReserveRedis;
  private readonly ownerOf = new Map<string, string>();
  private readonly reconciledAt = new Map<string, number>();

  constructor(private readonly options: InFlightLimitOptions) {
    options.redis.defineCommand('schedReserveInFlight', { numberOfKeys: 1, lua: RESERVE });
    this.redis = options.redis as ReserveRedis;
  }

  /**
   * Reserves places for `ids` in order: how many leading ids fit (all when `max` is 0) and which
   * places were taken now. A full set is reconciled once before the answer.
   */
  async reserve(owner: string, max: number, ids: readonly string[], now = Date.now()): Promise<Reservation> {
    if (max === 0 || ids.length === 0) return { admitted: ids.length, added: [] };
    let reservation = await this.call(owner, max, ids, now);
    if (reservation.admitted < ids.length && now - (this.reconciledAt.get(owner) ?? -Infinity) >= RECONCILE_INTERVAL_MS) {
      this.reconciledAt.set(owner, now);
      if ((await this.reconcile(owner)) > 0) {
        const again = await this.call(owner, max, ids, now);
        reservation = { admitted: again.admitted, added: [...reservation.added, ...again.added] };
      }
    }
    for (const id of reservation.added) this.ownerOf.set(id, owner);
    return reservation;
  }

  /** Gives back places a reservation took (`Reservation.added`) for jobs that were not added after all, or were replays. */
  async release(owner: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    for (const id of ids) this.ownerOf.delete(id);
    await this.redis.zrem(this.options.keys.inFlight(owner), ...ids).catch(() => undefined);
  }

  /** For the status channel: a job admitted here that ended leaves its owner's set. */
  onStatus(message: StatusMessage): void {
    if (!isTerminal(message.status) || message.retry === true) return;
    const owner = this.ownerOf.get(message.id);
    if (owner === undefined) return;
    this.ownerOf.delete(message.id);
    this.redis.zrem(this.options.keys.inFlight(owner), message.id).catch((error: unknown) => this.options.logger.debug({ err: String(error) }, 'in-flight release failed'));
  }

  private async call(owner: string, max: number, ids: readonly string[], now: number): Promise<Reservation> {
    try {
      const [admitted, added] = await this.redis.schedReserveInFlight(this.options.keys.inFlight(owner), max, now, this.options.ttlMs, ...ids);
      return { admitted, added };
    } catch (error) {
      throw redisUnavailable(error);
    }
  }

  /** Removes the members that ended or are gone; returns how many. */
  private async reconcile(owner: string): Promise<number> {
    const key = this.options.keys.inFlight(owner);
    const members = await this.redis.zrange(key, 0, -1).catch(() => [] as string[]);
    const done: string[] = [];
    for (let i = 0; i < members.length; i += READ_CHUNK) {
      const chunk = members.slice(i, i + READ_CHUNK);
      const views = await this.options.readMany(chunk).catch(() => null);
      if (views === null) return 0;
      for (const [j, view] of views.entries()) if (view === null || isTerminal(view.status)) done.push(chunk[j] as string);
    }
    if (done.length > 0) await this.release(owner, done);
    return done.length;
  }
}
