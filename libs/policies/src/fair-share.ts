import { BULLMQ_PRIORITY, PRIORITY_BAND_STEPS, type Priority } from '@sched/core';
import { expectedServiceMs } from './expected-delay.js';
import type { FleetSnapshot, RoutableJob, WorkerView } from './types.js';

/**
 * Fair sharing between tenants: start-time fair queuing (SFQ, Goyal et al. 1996) wherever jobs
 * wait — each worker queue's priority band (`sed` and every policy that binds on arrival), and the
 * late-binding dispatcher's held set (`sed-late`). A band keeps a virtual time `V` and each
 * tenant's finish tag `F`; a job's start tag is `S = max(V, F)`, and its tenant's tag moves on to
 * `S + cost ÷ weight`; `V` is the tag of the latest job to start. Jobs wait in start-tag order, so a tenant that sends more than its share
 * queues behind its own backlog, while one within its share gets a tag at `V` and passes that
 * backlog. A tenant back from idle starts at `V`: no credit saved up, no penalty for having used
 * an idle fleet.
 *
 * `FairBand` is the rule, once. The simulator runs it directly. The live dispatcher runs the same
 * steps in Redis scripts (so several dispatchers share each band; apps/dispatcher/src/fair-share.ts),
 * and its test checks the scripts against `FairBand` step by step.
 */

/** A tag's resolution in a worker queue's BullMQ priority (virtual ms per step). */
export const FAIR_RANK_MS = 1;
/**
 * A band whose head has moved this many steps past its epoch is rebased: the epoch moves up to the
 * head and every job waiting in the band moves down by as many steps (order kept), so ranks never
 * reach the band's end however long the queue stays busy.
 */
export const FAIR_REBASE_STEPS = PRIORITY_BAND_STEPS / 2;

/**
 * A job's BullMQ priority in a worker queue: its band (high before normal before low), then its
 * fair rank inside the band (0 without fair sharing). Lower runs first.
 */
export function workerQueuePriority(priority: Priority, rank = 0): number {
  return BULLMQ_PRIORITY[priority] + Math.min(PRIORITY_BAND_STEPS - 1, Math.max(0, Math.floor(rank)));
}

/** The rank a start tag gets in a band whose epoch is `epoch` (capped at the band: past it, arrival order). */
export function fairRank(start: number, epoch: number): number {
  return Math.min(PRIORITY_BAND_STEPS - 1, Math.max(0, Math.floor((start - epoch) / FAIR_RANK_MS)));
}

/**
 * What one job costs a worker queue, in ms of that worker's time: its expected service there ÷ the
 * worker's slots. A tenant's lead over the band's `V` is then about how long its own queued work
 * holds the worker.
 */
export function queueCostMs(job: RoutableJob, worker: WorkerView, snapshot: FleetSnapshot): number {
  return expectedServiceMs(job, worker, snapshot) / worker.slots;
}

/**
 * What one job costs the whole fleet, in ms: the time the model's fleet needs per job (1 ÷ Σ slots ÷
 * expected service over the workers that serve it) — the held set's cost, where the worker is not
 * chosen yet. Null when no worker serves the model.
 */
export function fleetCostMs(job: RoutableJob, snapshot: FleetSnapshot): number | null {
  let jobsPerMs = 0;
  for (const worker of snapshot.eligible(job.model)) jobsPerMs += worker.slots / Math.max(1e-3, expectedServiceMs(job, worker, snapshot));
  return jobsPerMs > 0 ? 1 / jobsPerMs : null;
}

/** A tag and where it puts the job. */
export interface FairTag {
  /** Start tag `S`. */
  readonly start: number;
  /** Its rank in the worker queue's band (the held set orders by `start` itself). */
  readonly rank: number;
  /** Steps every job already waiting in the band moves down first (a rebase; 0 almost always). */
  readonly shift: number;
  /** `V` as the tag used it. */
  readonly virtualTime: number;
}

interface TenantTag {
  finish: number;
  weight: number;
}

/**
 * One band of fair sharing: a worker queue's priority band, or the held jobs of one priority.
 * Its steps are the Redis scripts' steps (the dispatcher's test replays them against this class).
 */
export class FairBand {
  /** `V`: in a worker queue, the tag of the latest job it started (it runs on while the worker is busy: `queueTag`). */
  virtualTime = 0;
  /** A worker queue's `V` as the last tag saw it, and when: `V` runs on from there at the worker's pace. */
  private seen = NaN;
  private seenAt = 0;
  /** What rank 0 means in the worker queue's band (moved up by a rebase). */
  epoch = 0;
  /** The highest start tag given (a held band with nothing held moves `V` up to it). */
  top = 0;
  private readonly tenants = new Map<string, TenantTag>();

  /**
   * Tags a job sent to a worker queue at time `now`. `V` is the tag of the latest job the worker
   * started (`started`; live, the worker writes it), run on by the time since a tag first saw it: a
   * busy worker serves one ms of its time per ms (a job costs its service ÷ slots) even while no job
   * starts because every slot runs a long one, and the work it serves then is mostly the backlog's
   * sender's. Without it, a tenant within its share would queue behind itself in such a stall and
   * interleave with the backlog one for one (SFQ's `V` only moves at starts). `headRank`: the rank of the first job
   * waiting in this band (null when none waits). Ranks count from the epoch; once the head is
   * FAIR_REBASE_STEPS past it, the band is rebased (`shift`: every waiting job moves down as many
   * steps), and a band with nothing waiting whose `V` is that far past it moves it up to `V`.
   */
  queueTag(owner: string, headRank: number | null, costMs: number, weight: number, now: number): FairTag {
    if (Number.isNaN(this.seen) || this.virtualTime > this.seen) {
      this.seen = this.virtualTime;
      this.seenAt = now;
    }
    const running = this.seen + Math.max(0, now - this.seenAt);
    let shift = 0;
    if (headRank !== null && headRank >= FAIR_REBASE_STEPS) {
      shift = headRank;
      this.epoch += shift * FAIR_RANK_MS;
    } else if (headRank === null && running - this.epoch >= FAIR_REBASE_STEPS * FAIR_RANK_MS) this.epoch = running;
    const start = this.tag(owner, costMs, weight, running);
    return { start, rank: fairRank(start, this.epoch), shift, virtualTime: running };
  }

  /** A job tagged `start` started (a worker queue's `V`: SFQ's tag in service). */
  started(start: number): void {
    if (start > this.virtualTime) this.virtualTime = start;
  }

  /**
   * Tags a job the dispatcher holds (`sed-late`). `headTag`: the start tag of the first job it holds
   * at this priority (null when none): `V` follows it, as a worker queue's follows its head.
   */
  holdTag(owner: string, headTag: number | null, costMs: number, weight: number): number {
    return this.tag(owner, costMs, weight, this.heldVirtualTime(headTag));
  }

  /** `holdTag`'s first step: `V` moves up to the first held job's tag, or to `top` when none is held. */
  heldVirtualTime(headTag: number | null): number {
    this.virtualTime = Math.max(this.virtualTime, headTag ?? this.top);
    return this.virtualTime;
  }

  /**
   * What a tag given elsewhere (a Redis script, which shares tenants' tags between dispatchers)
   * left: the tenant's finish tag and weight, the band's `V` then, and the start tag given.
   */
  observe(owner: string, finish: number, weight: number, virtualTime: number, start: number): void {
    this.tenants.set(owner, { finish, weight });
    if (virtualTime > this.virtualTime) this.virtualTime = virtualTime;
    if (start > this.top) this.top = start;
  }

  /** Tenants known (for pruning a copy that outgrew its use). */
  get size(): number {
    return this.tenants.size;
  }

  /**
   * How long a job of `owner` sent now waits before it starts, in ms of the band's time, if tags are
   * served in order: until `V` reaches its tag, every tenant runs its work tagged below it,
   * `min(its lead, this tenant's lead) × its weight` each (a lead is a finish tag's distance ahead
   * of `V`). 0 for a tenant within its share: its job goes to the front.
   */
  waitMs(owner: string): number {
    const v = this.virtualTime;
    const own = this.tenants.get(owner);
    const lead = own === undefined ? 0 : own.finish - v;
    if (lead <= 0) return 0;
    let wait = 0;
    for (const other of this.tenants.values()) if (other.finish > v) wait += Math.min(other.finish - v, lead) * other.weight;
    return wait;
  }

  /** Forgets tenants whose tags are at or behind `V` (they would start at `V` anyway). */
  prune(): void {
    for (const [owner, tenant] of this.tenants) if (tenant.finish <= this.virtualTime) this.tenants.delete(owner);
  }

  private tag(owner: string, costMs: number, weight: number, virtualTime: number): number {
    const previous = this.tenants.get(owner)?.finish ?? 0;
    const start = previous > virtualTime ? previous : virtualTime;
    this.tenants.set(owner, { finish: start + costMs / weight, weight });
    if (start > this.top) this.top = start;
    return start;
  }
}
