import type { Queue } from 'bullmq';
import { BULLMQ_PRIORITY, type Config, type JobPayload } from '@sched/core';
import { ingressJobOptions, type ClaimedJob, type ErrorLogger, type StrandedFrom, type StrandedJobs, type WorkerQueueState } from '@sched/runtime';
import type { PublishStatus } from './status-publisher.js';

export interface DeadWorkerRecoveryOptions {
  readonly config: Pick<Config, 'DEAD_WORKER_GRACE_MS' | 'RESULT_TTL_S'>;
  readonly stranded: Pick<StrandedJobs, 'candidates' | 'claim' | 'settle' | 'takeOverExpired'>;
  readonly ingress: Pick<Queue<JobPayload>, 'addBulk'>;
  /** `sched_jobs_rerouted_total`. */
  readonly metrics: { readonly rerouted: { inc(labels: { reason: Reason; state: StrandedFrom }): void } };
  readonly publish: PublishStatus;
  readonly logger: Pick<ErrorLogger, 'info' | 'warn'>;
  /**
   * A claim not settled this long after it was made is taken over by another dispatcher (its
   * dispatcher died between the claim and the ingress add). @defaultValue 30,000
   */
  readonly claimLeaseMs?: number;
  /** @defaultValue Date.now */
  readonly now?: () => number;
}

/** Jobs claimed per script call; a pass goes on until none is left. */
const BATCH = 200;
const CLAIM_LEASE_MS = 30_000;

/** Why a worker's jobs are taken back, as the `reason` label of `sched_jobs_rerouted_total`. */
type Reason = 'worker_gone' | 'worker_draining';

/**
 * Takes back the jobs of a worker that will not run them and sends them to ingress, to be routed
 * again: a worker whose descriptor is gone (dead, or left) for DEAD_WORKER_GRACE_MS as this
 * dispatcher measures it (0 by default: the descriptor's own expiry, three heartbeats, is the
 * detection), or one that is draining (its waiting jobs at once, on its `draining` or `left`
 * event). Jobs a worker took are taken back only once their lock expired.
 *
 * Any number of dispatchers do this at once: each job is claimed by one atomic script
 * (`StrandedJobs.claim`) that removes it from the worker's queue, and only the dispatcher whose
 * script removed it adds it to ingress. A job's executions so far go with it (`priorAttempts`).
 */
export class DeadWorkerRecovery {
  private readonly running = new Map<string, { again: boolean }>();
  private readonly passes = new Set<Promise<void>>();
  /** When this dispatcher first read each worker's descriptor as gone (its own clock: no other machine's time is compared). */
  private readonly goneSince = new Map<string, number>();
  /** When each gone worker's unsettled claims were last looked at. */
  private readonly sweptAt = new Map<string, number>();
  private readonly leaseMs: number;
  private readonly now: () => number;

  constructor(private readonly options: DeadWorkerRecoveryOptions) {
    this.leaseMs = options.claimLeaseMs ?? CLAIM_LEASE_MS;
    this.now = options.now ?? Date.now;
  }

  /** Starts taking back the jobs of every gone or draining worker that has some; never throws. */
  check(states: readonly WorkerQueueState[], now: number): void {
    for (const s of states) {
      if (s.descriptor !== null) {
        this.goneSince.delete(s.id);
        if (s.descriptor.state === 'draining' && s.waiting + s.delayed > 0) this.start(s.id, 'worker_draining');
        continue;
      }
      const since = this.goneSince.get(s.id) ?? now;
      this.goneSince.set(s.id, since);
      if (now - since < this.options.config.DEAD_WORKER_GRACE_MS) continue;
      // Claims a dispatcher left unsettled are looked for once per lease, even in an empty queue.
      const sweepDue = now - (this.sweptAt.get(s.id) ?? -Infinity) >= this.leaseMs;
      if (s.waiting + s.active + s.delayed === 0 && !sweepDue) continue;
      this.sweptAt.set(s.id, now);
      this.start(s.id, 'worker_gone');
    }
  }

  /** A worker announced it is draining or has left: its waiting jobs go back now, not at the next refresh. */
  handOver(workerId: string): void {
    this.start(workerId, 'worker_draining');
  }

  /** One pass per worker at a time; a request during a pass runs one more after it. */
  private start(workerId: string, reason: Reason): void {
    const pass = this.running.get(workerId);
    if (pass !== undefined) {
      pass.again = true;
      return;
    }
    const state = { again: false };
    this.running.set(workerId, state);
    const run = async (): Promise<void> => {
      do {
        state.again = false;
        await this.recover(workerId, reason);
      } while (state.again);
    };
    const done = run()
      .catch((error: unknown) => this.options.logger.warn({ worker: workerId, err: String(error) }, 'taking back the jobs of a worker failed'))
      .finally(() => {
        this.running.delete(workerId);
        this.passes.delete(done);
      });
    this.passes.add(done);
  }

  /** Resolves once no pass runs (before the connections close). */
  async idle(): Promise<void> {
    while (this.passes.size > 0) await Promise.all(this.passes);
  }

  private async recover(workerId: string, reason: Reason): Promise<void> {
    const { stranded, logger } = this.options;
    let moved = 0;
    for (;;) {
      const ids = await stranded.candidates(workerId, BATCH);
      const claimed = await stranded.claim(workerId, ids);
      if (claimed.length === 0) break;
      await this.sendBack(workerId, claimed, claimed.map((job) => job.id), reason);
      moved += claimed.length;
    }
    if (reason === 'worker_gone') {
      const expired = await stranded.takeOverExpired(workerId, this.leaseMs);
      if (expired.settle.length > 0) {
        logger.warn({ worker: workerId, claims: expired.settle.length, readded: expired.readd.length }, 'took over claims another dispatcher left unsettled');
      }
      await this.sendBack(workerId, expired.readd, expired.settle, reason);
      moved += expired.readd.length;
    }
    if (moved > 0) logger.warn({ worker: workerId, moved, reason }, 'sent the jobs of a worker back for routing');
  }

  /** Ingress first, then the claims' records: a crash in between leaves a record another dispatcher takes over. */
  private async sendBack(workerId: string, jobs: readonly ClaimedJob[], settle: readonly string[], reason: Reason): Promise<void> {
    const { ingress, stranded, config, metrics, publish, logger } = this.options;
    if (jobs.length > 0) {
      await ingress.addBulk(jobs.map(({ id, payload }) => ({ name: 'job', data: payload, opts: ingressJobOptions(id, BULLMQ_PRIORITY[payload.priority], config) })));
    }
    await stranded.settle(workerId, settle);
    const at = this.now();
    for (const job of jobs) {
      metrics.rerouted.inc({ reason, state: job.from });
      publish({ id: job.id, status: 'queued', at, attempt: job.payload.priorAttempts ?? 0 });
      logger.info({ jobId: job.id, worker: workerId, reason, from: job.from }, 'job sent back for routing');
    }
  }
}
