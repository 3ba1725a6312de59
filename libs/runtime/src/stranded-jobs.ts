import type { Redis } from 'ioredis';
import { INGRESS_QUEUE, workerQueueName, type JobPayload, type KeySpace } from '@sched/core';

/** Where a claimed job was in the worker's queue: not started (waiting, prioritized, delayed for a retry), or taken by the worker (active, its lock expired). */
export type StrandedFrom = 'waiting' | 'active';

/** A job taken out of a worker's queue by `claim`: put it back in ingress, then `settle` it. */
export interface ClaimedJob {
  readonly id: string;
  /** The payload to add to ingress: the worker job's, without `dispatchedAt`, its executions there added to `priorAttempts`. */
  readonly payload: JobPayload;
  readonly from: StrandedFrom;
}

/**
 * Takes every listed job that is still in the worker's queue and not locked out of it, in one step:
 * the caller whose script removed a job is the only one that puts it back in ingress. The job's
 * hash goes with it (so a later add of the same id to this queue, the worker having returned, is a
 * new job and not a no-op), and its data is kept in the `recovering` hash until `settle`, so a
 * dispatcher that dies between the claim and the ingress add loses nothing. Claims nothing while
 * the worker's descriptor says `live` (it returned, and takes its jobs back itself). Time is Redis's.
 *
 * BullMQ's own removeJob.lua removes the same keys; it is not used because it also removes a
 * finished job and does not return the job's data, and a dead worker's job can finish (its worker
 * returning) between a read and a removal.
 */
const CLAIM = `
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'live' then return {} end
local t = redis.call('TIME')
local now = tostring(t[1] * 1000 + math.floor(t[2] / 1000))
local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local jobKey = ARGV[1] .. id
  if redis.call('EXISTS', jobKey .. ':lock') == 0 then
    local from = nil
    if redis.call('ZREM', KEYS[3], id) == 1 or redis.call('LREM', KEYS[2], 0, id) > 0
      or redis.call('LREM', KEYS[4], 0, id) > 0 or redis.call('ZREM', KEYS[5], id) == 1 then
      from = 'waiting'
    elseif redis.call('LREM', KEYS[6], 0, id) > 0 then
      from = 'active'
    end
    if from then
      local fields = redis.call('HMGET', jobKey, 'data', 'ats')
      redis.call('SREM', KEYS[7], id)
      redis.call('DEL', jobKey, jobKey .. ':logs', jobKey .. ':dependencies', jobKey .. ':processed', jobKey .. ':failed', jobKey .. ':unsuccessful')
      if fields[1] then
        local rest = (fields[2] or '0') .. '|' .. from .. '|' .. fields[1]
        redis.call('HSET', KEYS[8], id, now .. '|' .. rest)
        table.insert(out, id)
        table.insert(out, rest)
      end
    end
  end
end
return out
`;

/** Takes over a claim older than the lease (its dispatcher died before settling): the claim's record, or nil. */
const RECLAIM = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return false end
local at, rest = string.match(v, '^(%d+)|(.*)$')
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
if at == nil or tonumber(at) > now - tonumber(ARGV[2]) then return false end
redis.call('HSET', KEYS[1], ARGV[1], tostring(now) .. '|' .. rest)
return rest
`;

/** Deletes a job's route if it still names this worker. */
const FORGET_ROUTE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** `<attemptsStarted>|<from>|<data>` as the scripts store it (after the claim time). */
function decodeClaim(id: string, record: string): ClaimedJob {
  const first = record.indexOf('|');
  const second = record.indexOf('|', first + 1);
  const attemptsStarted = Number(record.slice(0, first));
  const from = record.slice(first + 1, second) === 'active' ? 'active' : 'waiting';
  const { dispatchedAt: _dispatchedAt, ...stored } = JSON.parse(record.slice(second + 1)) as JobPayload;
  const priorAttempts = (stored.priorAttempts ?? 0) + (Number.isFinite(attemptsStarted) ? attemptsStarted : 0);
  return { id, from, payload: { ...stored, priorAttempts } };
}

/**
 * A job in the middle of being moved from a worker's queue back to ingress, as `JobReader` shows it:
 * the ingress-side payload, or null when none is recorded for that worker.
 */
export async function readRecovering(redis: Pick<Redis, 'hget'>, keys: Pick<KeySpace, 'recovering'>, workerId: string, jobId: string): Promise<JobPayload | null> {
  const record = await redis.hget(keys.recovering(workerId), jobId);
  if (record === null) return null;
  return decodeClaim(jobId, record.slice(record.indexOf('|') + 1)).payload;
}

/**
 * The Redis side of taking a dead or draining worker's jobs back (see `CLAIM`): list candidates,
 * claim them atomically, settle a claim once the job is back in ingress, and take over claims whose
 * dispatcher died in between.
 */
export class StrandedJobs {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Pick<KeySpace, 'queueKey' | 'workerDescriptor' | 'recovering' | 'jobHash' | 'route'>,
  ) {}

  /**
   * Up to `limit` ids of each structure, in the order the worker would have run them (prioritized by
   * score, then wait and paused from their tails, then delayed retries), then every active job.
   */
  async candidates(workerId: string, limit: number): Promise<string[]> {
    const queue = workerQueueName(workerId);
    const k = (state: 'wait' | 'prioritized' | 'paused' | 'delayed' | 'active'): string => this.keys.queueKey(queue, state);
    const replies =
      (await this.redis
        .pipeline()
        .zrange(k('prioritized'), 0, limit - 1)
        .lrange(k('wait'), -limit, -1)
        .lrange(k('paused'), -limit, -1)
        .zrange(k('delayed'), 0, limit - 1)
        .lrange(k('active'), 0, -1)
        .exec()) ?? [];
    const lists = replies.map(([error, value], i) => {
      if (error) throw error;
      const ids = value as string[];
      // Lists are consumed from their tail: the oldest job is last.
      return i === 1 || i === 2 ? [...ids].reverse() : ids;
    });
    return [...new Set(lists.flat())];
  }

  /**
   * Claims those of `ids` that are still stranded (see `CLAIM`); the others were claimed, finished
   * or taken by a live worker. A job whose ingress job still exists is left for a later pass: the
   * dispatcher that routed it has added it to the worker's queue but not yet finished its ingress
   * job (or died in between, and the ingress job will be routed again), and an ingress add of that
   * id now would be ignored, then removed with the ingress job it collided with: the job lost. Once
   * the ingress job is seen gone, the worker job was added before it went, so the claim that
   * follows takes a job whose ingress add will stand.
   */
  async claim(workerId: string, candidates: readonly string[]): Promise<ClaimedJob[]> {
    const ids = await this.withoutIngressJob(candidates);
    if (ids.length === 0) return [];
    const queue = workerQueueName(workerId);
    const k = this.keys;
    const reply = (await this.redis.eval(
      CLAIM,
      8,
      k.workerDescriptor(workerId),
      k.queueKey(queue, 'wait'),
      k.queueKey(queue, 'prioritized'),
      k.queueKey(queue, 'paused'),
      k.queueKey(queue, 'delayed'),
      k.queueKey(queue, 'active'),
      k.queueKey(queue, 'stalled'),
      k.recovering(workerId),
      // Every job key of the queue starts with this (BullMQ's scripts build job keys the same way).
      k.jobHash(queue, ''),
      ...ids,
    )) as string[];
    const claimed: ClaimedJob[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) claimed.push(decodeClaim(reply[i] as string, reply[i + 1] as string));
    return claimed;
  }

  /**
   * The claimed jobs are in ingress: their records go, and so do their routes to this worker (a
   * route read when the job is taken from ingress again means "keep this route", and this one
   * names a worker that will not run it; a route written since names its next worker and stays).
   */
  async settle(workerId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.eval(FORGET_ROUTE, 1, this.keys.route(id), workerId);
    pipeline.hdel(this.keys.recovering(workerId), ...ids);
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }

  private async withoutIngressJob(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.exists(this.keys.jobHash(INGRESS_QUEUE, id));
    const replies = (await pipeline.exec()) ?? [];
    return ids.filter((_, i) => {
      const [error, exists] = replies[i] ?? [null, 1];
      if (error) throw error;
      return exists === 0;
    });
  }

  /**
   * Claims left unsettled for longer than `leaseMs` (their dispatcher died, or stalled that long),
   * taken over one by one, without those already back in ingress or routed on: the caller adds the
   * rest to ingress, then settles them all.
   */
  async takeOverExpired(workerId: string, leaseMs: number): Promise<{ readonly readd: ClaimedJob[]; readonly settle: string[] }> {
    const key = this.keys.recovering(workerId);
    const ids = await this.redis.hkeys(key);
    const readd: ClaimedJob[] = [];
    const settle: string[] = [];
    for (const id of ids) {
      const record = (await this.redis.eval(RECLAIM, 1, key, id, String(leaseMs))) as string | null;
      if (record === null) continue;
      settle.push(id);
      if (!(await this.movedOn(workerId, id))) readd.push(decodeClaim(id, record));
    }
    return { readd, settle };
  }

  /**
   * Whether a claimed job already went on: in ingress, or routed since (the route names another
   * worker, or this worker's queue holds it again). Read in the order the job moves (ingress, then
   * route, then worker queue), so a job moving during the read is seen at one of them.
   */
  private async movedOn(workerId: string, id: string): Promise<boolean> {
    const inIngress = await this.redis.exists(this.keys.jobHash(INGRESS_QUEUE, id));
    if (inIngress === 1) return true;
    const route = await this.redis.get(this.keys.route(id));
    if (route !== null && route !== workerId) return true;
    return (await this.redis.exists(this.keys.jobHash(workerQueueName(workerId), id))) === 1;
  }
}
