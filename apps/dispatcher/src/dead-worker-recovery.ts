import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  BULLMQ_PRIORITY,
  INGRESS_ATTEMPTS,
  INGRESS_BACKOFF,
  workerQueueName,
  type Config,
  type JobPayload,
  type KeySpace,
  type StatusMessage,
} from '@sched/core';
import type { Logger, WorkerQueueState } from '@sched/runtime';

export interface DeadWorkerRecoveryDeps {
  config: Config;
  keys: KeySpace;
  redis: Redis;
  ingress: Queue<JobPayload>;
  workerQueue(workerId: string): Queue<JobPayload>;
  publish(message: StatusMessage): void;
  logger: Logger;
}

/** Jobs moved per pass and worker; the next refresh takes the rest. */
const BATCH = 200;

/**
 * A worker whose descriptor expired more than DEAD_WORKER_GRACE_MS ago is dead:
 * nothing will consume its queue (a restarted worker with the same id within the
 * grace takes its jobs back itself). Its jobs go back to ingress with the same id
 * and are routed again. Active jobs are moved only once their lock has expired.
 * Ingress first, then removal from the dead queue: a crash in between runs a job
 * twice at worst (at-least-once), never loses it.
 */
export class DeadWorkerRecovery {
  private readonly running = new Set<string>();

  constructor(private readonly deps: DeadWorkerRecoveryDeps) {}

  /** Starts recovery of every dead worker with jobs left; never throws. */
  check(states: readonly WorkerQueueState[], now: number): void {
    for (const s of states) {
      const stranded = s.waiting + s.active + s.delayed;
      if (s.descriptor !== null || stranded === 0 || now - s.lastSeenAt < this.deps.config.DEAD_WORKER_GRACE_MS) continue;
      if (this.running.has(s.id)) continue;
      this.running.add(s.id);
      this.recover(s.id)
        .catch((error: unknown) => this.deps.logger.warn({ worker: s.id, err: String(error) }, 'dead-worker recovery failed'))
        .finally(() => this.running.delete(s.id));
    }
  }

  private async recover(workerId: string): Promise<void> {
    const { ingress, keys, redis, config, logger } = this.deps;
    const queue = this.deps.workerQueue(workerId);
    const jobs = await queue.getJobs(['active', 'wait', 'prioritized', 'delayed'], 0, BATCH - 1);
    let moved = 0;
    for (const job of jobs) {
      const id = job.id;
      if (id === undefined) continue;
      if ((await redis.exists(keys.jobLock(workerQueueName(workerId), id))) === 1) continue;
      const { dispatchedAt: _dispatchedAt, ...payload } = job.data;
      await ingress.add('job', payload, {
        jobId: id,
        priority: BULLMQ_PRIORITY[payload.priority],
        attempts: INGRESS_ATTEMPTS,
        backoff: INGRESS_BACKOFF,
        removeOnComplete: true,
        removeOnFail: { age: config.RESULT_TTL_S },
      });
      await job.remove();
      this.deps.publish({ id, status: 'queued', at: Date.now() });
      logger.info({ jobId: id, worker: workerId }, 'job of a dead worker sent back for routing');
      moved++;
    }
    if (moved > 0) logger.warn({ worker: workerId, moved }, 'recovered jobs from a dead worker');
  }
}
