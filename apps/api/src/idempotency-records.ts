import { randomUUID } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';
import { INGRESS_QUEUE, type JobAccepted, type KeySpace } from '@sched/core';

/**
 * What an Idempotency-Key's record holds. `pending` from before the add, `committed` once the job is
 * known to exist. The state is the first member, so a script can flip it without decoding the rest.
 */
interface IdempotencyRecord {
  state: 'pending' | 'committed';
  bodyHash: string;
  accepted: JobAccepted;
  /** Tells this writer's record from a later one (a takeover) in a compare-and-set. */
  token: string;
}

/** What the claim of one key found. */
export type IdempotencyClaim =
  /** This request owns the key now (new, or taken over from an add that never landed): it must add the job. */
  | { kind: 'claimed' }
  /** The key names a job that exists (or existed: a committed record); `first` is its record. */
  | { kind: 'replay'; bodyHash: string; accepted: JobAccepted }
  /** Another request's add may still land: answer 409 + Retry-After, never 202 for a job not yet there. */
  | { kind: 'in_progress'; bodyHash: string; accepted: JobAccepted };

/** One keyed job to claim: the id its key maps to, the body's hash and the answer it would get. */
export interface IdempotencyItem {
  readonly bodyHash: string;
  readonly accepted: JobAccepted;
}

/** A claim's written record, for its commit or release. */
export interface ClaimedRecord {
  readonly jobId: string;
  readonly pending: string;
  readonly committed: string;
}

/**
 * KEYS: record, in-flight marker, the ingress job's hash, the route, the terminal record.
 * ARGV: pending record, committed record, record TTL (s), in-flight TTL (ms), body hash.
 * Whether the job exists is read in the same script, so a replay never answers for a job that is not there.
 */
const CLAIM = `
local current = redis.call('GET', KEYS[1])
local exists = redis.call('EXISTS', KEYS[3], KEYS[4], KEYS[5]) > 0
if not current then
  if exists then
    redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
    return {'replay', ARGV[2]}
  end
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
  return {'claimed'}
end
local pending = string.sub(current, 1, 19) == '{"state":"pending",'
if exists then
  if pending then
    redis.call('SET', KEYS[1], '{"state":"committed",' .. string.sub(current, 20), 'KEEPTTL')
    redis.call('DEL', KEYS[2])
  end
  return {'replay', current}
end
if not pending then return {'replay', current} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'in_progress', current} end
local ok, record = pcall(cjson.decode, current)
if not ok or record.bodyHash ~= ARGV[5] then return {'replay', current} end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
return {'claimed'}
`;

/** KEYS: record, in-flight marker. ARGV: the pending record written, its committed form. */
const COMMIT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  redis.call('DEL', KEYS[2])
end
return 0
`;

/** KEYS: record, in-flight marker. ARGV: the pending record written. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1], KEYS[2]) end
return 0
`;

/** The scripts as ioredis commands on a pipeline (defineCommand adds them at run time). */
interface ScriptCommands {
  schedIdemClaim(...args: (string | number)[]): ChainableCommander;
  schedIdemCommit(...args: string[]): ChainableCommander;
  schedIdemRelease(...args: string[]): ChainableCommander;
}

/**
 * The records of Idempotency-Keys, pending → committed. A record is written `pending` (with the body's
 * hash and the job id) with a short in-flight marker before the add; the add's success commits it. A
 * request that finds a record answers the first job only if that job exists or its record is
 * committed; while the marker lives another request's add may still land (`in_progress`); after it
 * expires with no job, the add never landed, and the request takes the key over and adds the job
 * itself, under the same id (BullMQ adds no id it already has).
 */
export class IdempotencyRecords {
  private readonly scripts: ScriptCommands;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Pick<KeySpace, 'idempotency' | 'idempotencyInFlight' | 'jobHash' | 'route' | 'terminal'>,
    private readonly ttlS: number,
  ) {
    redis.defineCommand('schedIdemClaim', { numberOfKeys: 5, lua: CLAIM });
    redis.defineCommand('schedIdemCommit', { numberOfKeys: 2, lua: COMMIT });
    redis.defineCommand('schedIdemRelease', { numberOfKeys: 2, lua: RELEASE });
    // defineCommand put them on the connection's pipelines; this is their type.
    this.scripts = redis as unknown as ScriptCommands;
  }

  /**
   * Queues the claim of each item's key on `pipeline` (one script call each, so the claims of a
   * batch are one round trip); `inFlightMs` is how long this request's add may take to land.
   * Returns the records it would write and how to read each reply.
   */
  claim(
    pipeline: ChainableCommander,
    items: readonly IdempotencyItem[],
    inFlightMs: number,
  ): { records: ClaimedRecord[]; parse: (reply: unknown) => IdempotencyClaim } {
    const records = items.map(({ bodyHash, accepted }) => {
      const record: IdempotencyRecord = { state: 'pending', bodyHash, accepted, token: randomUUID() };
      const pending = JSON.stringify(record);
      return { jobId: accepted.id, bodyHash, pending, committed: JSON.stringify({ ...record, state: 'committed' }) };
    });
    const claims = pipeline as unknown as ScriptCommands;
    for (const { jobId, bodyHash, pending, committed } of records) {
      claims.schedIdemClaim(
        this.keys.idempotency(jobId),
        this.keys.idempotencyInFlight(jobId),
        this.keys.jobHash(INGRESS_QUEUE, jobId),
        this.keys.route(jobId),
        this.keys.terminal(jobId),
        pending,
        committed,
        this.ttlS,
        inFlightMs,
        bodyHash,
      );
    }
    return { records, parse: parseClaim };
  }

  /** The jobs were added: their records say so (not waited for by the answer; a record left pending is still checked against its job). */
  commit(records: readonly ClaimedRecord[]): Promise<unknown> {
    return this.run(records, (pipeline, r) => pipeline.schedIdemCommit(this.keys.idempotency(r.jobId), this.keys.idempotencyInFlight(r.jobId), r.pending, r.committed));
  }

  /** The add was refused (Redis answered an error): the keys are free again, unless another request took them over since. */
  release(records: readonly ClaimedRecord[]): Promise<unknown> {
    return this.run(records, (pipeline, r) => pipeline.schedIdemRelease(this.keys.idempotency(r.jobId), this.keys.idempotencyInFlight(r.jobId), r.pending));
  }

  private async run(records: readonly ClaimedRecord[], queue: (pipeline: ScriptCommands, record: ClaimedRecord) => void): Promise<unknown> {
    if (records.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const record of records) queue(pipeline as unknown as ScriptCommands, record);
    return pipeline.exec();
  }
}

function parseClaim(reply: unknown): IdempotencyClaim {
  const [kind, text] = Array.isArray(reply) ? (reply as [string, string | undefined]) : [];
  if (kind === 'claimed') return { kind };
  if ((kind === 'replay' || kind === 'in_progress') && typeof text === 'string') {
    const record = JSON.parse(text) as Partial<IdempotencyRecord> & Pick<IdempotencyRecord, 'bodyHash' | 'accepted'>;
    return { kind, bodyHash: record.bodyHash, accepted: record.accepted };
  }
  throw new Error(`unexpected reply to the idempotency claim: ${JSON.stringify(reply)}`);
}
