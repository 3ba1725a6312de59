import { DelayedError } from 'bullmq';
import { JobFailure, latestStartAt, type Catalog, type Config, type JobPayload, type Rng } from '@sched/core';
import { toBullmqError, waitOutRedis, type Logger } from '@sched/runtime';
import type { FleetSnapshot, Policy } from '@sched/policies';
import { DecisionTimer } from './decision-timer.js';
import type { Claim, DispatchClaims } from './dispatch-claims.js';
import type { FairShare } from './fair-share.js';
import type { JobHolder } from './job-holder.js';
import type { ParkedJobs } from './parked-jobs.js';
import type { PublishStatus } from './status-publisher.js';

/** What routing needs of an ingress job (a BullMQ Job is one). */
export interface IngressJob {
  readonly id?: string | undefined;
  readonly data: JobPayload;
  /** Processings started, this one included: above 1, a dispatcher picked it up before. */
  readonly attemptsStarted: number;
  moveToDelayed(timestamp: number, token?: string): Promise<void>;
}

/** The Redis side of routing. */
export interface DispatchStore {
  /** For a job picked up again: the route it already has, and whether it already left the queues (a terminal record). */
  previous(jobId: string): Promise<{ readonly route: string | null; readonly finished: boolean }>;
  /** Writes the route, announces `dispatched`, and adds the job to the worker's queue, in that order. */
  send(jobId: string, payload: JobPayload, claim: Claim): Promise<void>;
  /** A job about to fail here reserves its webhook first, so a crash cannot lose it. */
  reserveWebhook(jobId: string, payload: JobPayload): Promise<void>;
  /** The failure is out: deliver its webhook now. */
  releaseWebhook(jobId: string, payload: JobPayload): Promise<void>;
  /** Writes the terminal record of a cancelled held job and announces `cancelled`. */
  recordCancelled(jobId: string): Promise<void>;
}

/** What the ingress processor returns: BullMQ stores it with the completed (and at once removed) ingress job. */
export type RouteResult = { readonly worker: string } | { readonly cancelled: true } | { readonly finished: true };

export interface RouteJobOptions {
  readonly config: Pick<Config, 'NO_WORKER_TIMEOUT_MS' | 'PARK_RECHECK_MS'>;
  readonly models: Catalog['models'];
  /** The per-job rule of a policy that binds on arrival, deadline-guarded. */
  readonly policy: Policy;
  readonly snapshot: FleetSnapshot;
  readonly rng: Rng;
  /** Late binding: holds the job until a worker has room. Null for a policy that binds on arrival. */
  readonly holder: Pick<JobHolder, 'hold' | 'headFairStart'> | null;
  /** Fair sharing: the start tag a held job is ordered by. */
  readonly fair: Pick<FairShare, 'holdTag'>;
  readonly claims: Pick<DispatchClaims, 'claim' | 'release'>;
  readonly decisions: DecisionTimer;
  readonly parked: ParkedJobs;
  readonly store: DispatchStore;
  readonly publish: PublishStatus;
  readonly logger: Pick<Logger, 'debug' | 'warn'>;
  /** @defaultValue Date.now */
  readonly now?: () => number;
}

/**
 * The ingress consumer's processor: decides what becomes of one ingress job. Sent to a worker
 * (on arrival, or when a held job is bound), parked (no live worker serves its model; re-checked
 * after PARK_RECHECK_MS, failed `no_worker` after NO_WORKER_TIMEOUT_MS), failed
 * `deadline_exceeded` (it can no longer start in time), or cancelled while held.
 */
export class RouteJob {
  private readonly now: () => number;

  constructor(private readonly options: RouteJobOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Routes one ingress job. A write Redis refuses or cannot take now (out of memory, a read-only
   * replica, a lost connection) leaves the job in ingress, delayed with a backoff, without using one
   * of its attempts: Redis being full for a minute must not fail the jobs already accepted.
   */
  async dispatch(job: IngressJob, token?: string): Promise<RouteResult> {
    try {
      return await this.route(job, token);
    } catch (error) {
      return waitOutRedis(job, token, error, this.options.logger, this.now);
    }
  }

  private async route(job: IngressJob, token: string | undefined): Promise<RouteResult> {
    const { store, claims, holder } = this.options;
    const id = job.id ?? '';
    const payload = job.data;
    if (job.attemptsStarted > 1) {
      // Picked up before (the previous dispatcher died mid-way): it keeps the route it has, and a job
      // whose cancel was recorded just before that death is not dispatched after all.
      const previous = await store.previous(id);
      if (previous.finished) return { finished: true };
      if (previous.route !== null) return this.send(id, payload, claims.claim(id, payload, previous.route));
    }
    if (this.tooLate(payload)) return this.fail(id, payload, JobFailure.deadlineExceeded(payload.deadlineMs ?? 0, 'dispatch'));
    if (holder !== null) {
      const fairStart = await this.options.fair.holdTag(payload, holder.headFairStart(payload.priority));
      const outcome = await holder.hold(id, payload, fairStart);
      switch (outcome.kind) {
        case 'bound':
          return this.send(id, payload, outcome.claim);
        case 'expired':
          return this.fail(id, payload, JobFailure.deadlineExceeded(payload.deadlineMs ?? 0, 'dispatch'));
        case 'park':
          return this.park(job, token);
        case 'cancel':
          await store.recordCancelled(id);
          this.options.logger.debug({ jobId: id }, 'held job cancelled');
          return { cancelled: true };
        case 'lost':
          // Retried by BullMQ if it is still ours; otherwise another dispatcher has it already.
          throw new Error('ingress lock lost while held');
      }
    }
    const started = DecisionTimer.start();
    const workerId = this.options.policy(payload, this.options.snapshot, this.options.rng);
    this.options.decisions.since(started);
    if (workerId === null) return this.park(job, token);
    return this.send(id, payload, claims.claim(id, payload, workerId));
  }

  /** BullMQ gave up on an ingress job (no attempt left): announce it and deliver its webhook. */
  failed(jobId: string, payload: JobPayload, error: Error): void {
    this.options.parked.forget(jobId);
    this.options.publish({ id: jobId, status: 'failed', at: this.now() });
    this.options.store
      .releaseWebhook(jobId, payload)
      .catch((e: unknown) => this.options.logger.warn({ jobId, err: String(e) }, 'could not release webhook; it goes out after the re-check delay'));
    this.options.logger.warn({ jobId, err: error.message }, 'job failed before dispatch');
  }

  private tooLate(payload: JobPayload): boolean {
    return (latestStartAt(this.options.models, payload) ?? Infinity) < this.now();
  }

  private async send(id: string, payload: JobPayload, claim: Claim): Promise<RouteResult> {
    try {
      await this.options.store.send(id, payload, claim);
    } catch (error) {
      // Not in the worker's queue after all: uncount it (the ingress job is retried).
      this.options.claims.release(id);
      throw error;
    }
    this.options.parked.forget(id);
    this.options.logger.debug({ jobId: id, worker: claim.workerId }, 'dispatched');
    return { worker: claim.workerId };
  }

  private async fail(id: string, payload: JobPayload, failure: JobFailure): Promise<never> {
    await this.options.store.reserveWebhook(id, payload);
    throw toBullmqError(failure);
  }

  private async park(job: IngressJob, token: string | undefined): Promise<never> {
    const id = job.id ?? '';
    const { model, createdAt } = job.data;
    const now = this.now();
    const waited = now - createdAt;
    if (waited >= this.options.config.NO_WORKER_TIMEOUT_MS) return this.fail(id, job.data, JobFailure.noWorker(model, waited));
    this.options.logger.debug({ jobId: id, model }, 'no worker serves the model; parked');
    this.options.parked.park(id, model, now);
    await job.moveToDelayed(now + this.options.config.PARK_RECHECK_MS, token);
    throw new DelayedError();
  }
}
