import type { Redis } from 'ioredis';
import { ANONYMOUS_TENANT_ID, BULLMQ_PRIORITY, PRIORITY_BAND_STEPS, payloadOwner, workerQueueName, type JobPayload, type KeySpace, type Priority } from '@sched/core';
import { FAIR_RANK_MS, FAIR_REBASE_STEPS, FairBand, fleetCostMs, queueCostMs, workerQueuePriority, type FleetSnapshot, type RoutableJob, type WorkerView } from '@sched/policies';

/** BullMQ's prioritized-set score: priority × 2^32 + a counter (BullMQ 6's getPriorityScore.lua). */
const SCORE_STEP = 4294967296;

/**
 * `FairBand.queueTag` in Redis, on a worker queue's band, next to BullMQ's own state of that queue
 * (`v:<priority>`, the band's `V`, is written by the worker as it starts each job: `JobReporter.running`;
 * a lower value, a retried job's old tag, is ignored). Known gaps: a rebase moves the jobs waiting in
 * the band, not one tagged but not yet added by another send, nor an active or delayed job (a retry
 * keeps its old rank); both are rare (a band busy for 2^18 ms) and cost order, not jobs.
 * KEYS[1] the queue's fair hash, KEYS[2] its prioritized set.
 * ARGV: priority, owner, cost ms, weight, the band's first BullMQ priority, the queue's key prefix
 * (`<prefix>:<queue>:`, for the job hashes a rebase updates), and the time in ms ('' for Redis
 * `TIME`, the one clock every dispatcher shares; a test replays its own).
 * Returns {rank, start, V, finish, shift} (numbers as strings where fractional).
 */
const QUEUE_TAG = `
local p = ARGV[1]
local base = tonumber(ARGV[5])
local now = tonumber(ARGV[7])
if now == nil then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
end
local lo = base * ${SCORE_STEP}
local hi = (base + ${PRIORITY_BAND_STEPS}) * ${SCORE_STEP} - 1
local fkey = 'f:' .. p .. ':' .. ARGV[2]
local state = redis.call('HMGET', KEYS[1], 'v:' .. p, 'e:' .. p, 't:' .. p, fkey, 'vs:' .. p, 'vt:' .. p)
local v = tonumber(state[1] or '0')
local epoch = tonumber(state[2] or '0')
local top = tonumber(state[3] or '0')
local finish = tonumber(state[4] or '0')
local seen = tonumber(state[5])
local seenAt = tonumber(state[6]) or now
if seen == nil or v > seen then
  seen = v
  seenAt = now
end
local head = redis.call('ZRANGEBYSCORE', KEYS[2], lo, hi, 'WITHSCORES', 'LIMIT', 0, 1)
local headRank = nil
if head[2] ~= nil then headRank = math.floor(tonumber(head[2]) / ${SCORE_STEP}) - base end
local running = seen + math.max(0, now - seenAt)
local shift = 0
if headRank ~= nil and headRank >= ${FAIR_REBASE_STEPS} then
  shift = headRank
  epoch = epoch + shift * ${FAIR_RANK_MS}
  local waiting = redis.call('ZRANGEBYSCORE', KEYS[2], lo, hi, 'WITHSCORES')
  for i = 1, #waiting, 2 do
    local score = tonumber(waiting[i + 1])
    local priority = math.floor(score / ${SCORE_STEP})
    local moved = math.max(base, priority - shift)
    redis.call('ZADD', KEYS[2], moved * ${SCORE_STEP} + (score - priority * ${SCORE_STEP}), waiting[i])
    redis.call('HSET', ARGV[6] .. waiting[i], 'priority', moved)
  end
elseif headRank == nil and running - epoch >= ${FAIR_REBASE_STEPS * FAIR_RANK_MS} then
  epoch = running
end
local start = math.max(running, finish)
finish = start + tonumber(ARGV[3]) / tonumber(ARGV[4])
top = math.max(top, start)
local f = '%.17g'
redis.call('HSET', KEYS[1], 'e:' .. p, string.format(f, epoch), 't:' .. p, string.format(f, top), fkey, string.format(f, finish), 'vs:' .. p, string.format(f, seen), 'vt:' .. p, string.format(f, seenAt))
local rank = math.min(${PRIORITY_BAND_STEPS - 1}, math.max(0, math.floor((start - epoch) / ${FAIR_RANK_MS})))
return {rank, string.format(f, start), string.format(f, running), string.format(f, finish), shift}
`;

/**
 * `FairBand.holdTag`'s tenant step in Redis (held jobs: `V` is the dispatcher's held head, kept in
 * Redis as the highest any dispatcher reported, so a dispatcher that starts or restarts does not
 * tag from 0 against tenants' stored tags). KEYS[1] the held fair hash. ARGV: priority, owner, cost
 * ms, weight, this dispatcher's V. Returns {start, finish, V}.
 */
const HOLD_TAG = `
local fkey = 'f:' .. ARGV[1] .. ':' .. ARGV[2]
local vkey = 'v:' .. ARGV[1]
local state = redis.call('HMGET', KEYS[1], fkey, vkey)
local v = math.max(tonumber(ARGV[5]), tonumber(state[2] or '0'))
local start = math.max(v, tonumber(state[1] or '0'))
local finish = start + tonumber(ARGV[3]) / tonumber(ARGV[4])
redis.call('HSET', KEYS[1], fkey, string.format('%.17g', finish), vkey, string.format('%.17g', v))
return {string.format('%.17g', start), string.format('%.17g', finish), string.format('%.17g', v)}
`;

type FairRedis = Redis & {
  schedFairQueueTag(hash: string, prioritized: string, priority: string, owner: string, costMs: number, weight: number, base: number, queueKeyPrefix: string, now: number | ''): Promise<[number, string, string, string, number]>;
  schedFairHoldTag(hash: string, priority: string, owner: string, costMs: number, weight: number, virtualTime: number): Promise<[string, string, string]>;
};

/** Where a job goes in a worker queue: its BullMQ priority, and its fair start tag when fair sharing ranks it. */
export interface QueuePlace {
  readonly priority: number;
  readonly fairStart?: number;
}

/** A worker-queue tag as the script gave it. */
export interface QueueTagReply {
  readonly rank: number;
  readonly start: number;
  readonly virtualTime: number;
  readonly finish: number;
  readonly shift: number;
}

export interface FairShareOptions {
  /** The dispatcher's connection for plain commands (the same one the route write goes on). */
  readonly redis: Redis;
  readonly keys: Pick<KeySpace, 'fairQueue' | 'fairHeld' | 'queueKey' | 'jobHash'>;
  readonly snapshot: FleetSnapshot & { find(workerId: string): WorkerView | undefined };
  /** FAIR_SHARE. */
  readonly enabled: boolean;
}

/** A copy of a band's tenants is pruned once it knows this many. */
const PRUNE_AT = 1024;

/**
 * Fair sharing between tenants, live (libs/policies fair-share.ts has the rule and why): the tags
 * are given in Redis, so every dispatcher shares each band, and each tag's reply is kept in a copy
 * of the band here (`FairBand`), from which `waitMs` tells `sed` how long a job would wait in a
 * queue. Jobs of `anonymous` (no API keys) are one tenant: they skip it and cost nothing.
 */
export class FairShare {
  private readonly redis: FairRedis;
  /** Per worker and priority: the copy of its queue's band. */
  private readonly queues = new Map<string, FairBand>();
  /** Per priority: this dispatcher's held jobs (their `V` and top tag are its own). */
  private readonly held = new Map<Priority, FairBand>();

  constructor(private readonly options: FairShareOptions) {
    options.redis.defineCommand('schedFairQueueTag', { numberOfKeys: 2, lua: QUEUE_TAG });
    options.redis.defineCommand('schedFairHoldTag', { numberOfKeys: 1, lua: HOLD_TAG });
    this.redis = options.redis as FairRedis;
  }

  /** Whether this job takes part (fair sharing is on and it has an API key's owner). */
  applies(job: JobPayload): boolean {
    return this.options.enabled && payloadOwner(job) !== ANONYMOUS_TENANT_ID;
  }

  /**
   * Where `payload` goes in `workerId`'s queue: its BullMQ priority (its band's first, or, sharing
   * fairly, its fair rank there: one script call, the band rebased first when due) and its fair start
   * tag (which the worker records when it starts the job).
   */
  async queuePlace(payload: JobPayload, workerId: string): Promise<QueuePlace> {
    if (!this.applies(payload)) return { priority: BULLMQ_PRIORITY[payload.priority] };
    const worker = this.options.snapshot.find(workerId);
    const cost = worker === undefined ? 1 : queueCostMs(payload, worker, this.options.snapshot);
    const tag = await this.queueTag(workerId, payload.priority, payloadOwner(payload), cost, payload.weight ?? 1);
    return { priority: workerQueuePriority(payload.priority, tag.rank), fairStart: tag.start };
  }

  /** The script call behind `queuePlace`, its reply kept in the band's copy; `now` replaces Redis `TIME` (for a replay). */
  async queueTag(workerId: string, priority: Priority, owner: string, costMs: number, weight: number, now?: number): Promise<QueueTagReply> {
    const { keys } = this.options;
    const queue = workerQueueName(workerId);
    const [rank, start, virtualTime, finish, shift] = await this.redis.schedFairQueueTag(
      keys.fairQueue(workerId),
      keys.queueKey(queue, 'prioritized'),
      priority,
      owner,
      costMs,
      weight,
      BULLMQ_PRIORITY[priority],
      keys.jobHash(queue, ''),
      now ?? '',
    );
    const reply = { rank, start: Number(start), virtualTime: Number(virtualTime), finish: Number(finish), shift };
    const band = this.band(this.queues, `${priority}:${workerId}`);
    band.observe(owner, reply.finish, weight, reply.virtualTime, reply.start);
    return reply;
  }

  /**
   * The start tag of a job this dispatcher is about to hold (`sed-late`), given the tag of the first
   * job it holds at that priority (null when none); undefined when the job takes no part, or no
   * worker serves its model (it is parked, not held).
   */
  async holdTag(payload: JobPayload, headTag: number | null): Promise<number | undefined> {
    if (!this.applies(payload)) return undefined;
    const cost = fleetCostMs(payload, this.options.snapshot);
    if (cost === null) return undefined;
    const band = this.band(this.held, payload.priority);
    const virtualTime = band.heldVirtualTime(headTag);
    const weight = payload.weight ?? 1;
    const [start, finish, shared] = await this.redis.schedFairHoldTag(this.options.keys.fairHeld, payload.priority, payloadOwner(payload), cost, weight, virtualTime);
    band.observe(payloadOwner(payload), Number(finish), weight, Number(shared), Number(start));
    return Number(start);
  }

  /** How long `job` would wait in `worker`'s queue, served in fair order (`FleetSnapshot.fairWaitMs`); undefined when it takes no part. */
  waitMs(job: RoutableJob, worker: WorkerView): number | undefined {
    if (!this.options.enabled || job.owner === undefined || job.owner === ANONYMOUS_TENANT_ID) return undefined;
    // A queue this dispatcher never tagged in: no copy to judge from, so it counts in arrival order.
    return this.queues.get(`${job.priority}:${worker.id}`)?.waitMs(job.owner);
  }

  private band<K>(bands: Map<K, FairBand>, key: K): FairBand {
    let band = bands.get(key);
    if (band === undefined) {
      band = new FairBand();
      bands.set(key, band);
    } else if (band.size >= PRUNE_AT) band.prune();
    return band;
  }
}
