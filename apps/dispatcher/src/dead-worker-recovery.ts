import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BULLMQ_PRIORITY, workerQueueName, type Config, type JobPayload, type KeySpace } from '@sched/core';
import { ingressJobOptions, type ErrorLogger, type JobReader, type WorkerQueueState } from '@sched/runtime';
import type { PublishStatus } from './status-publisher.js';

export interface DeadWorkerRecoveryOptions {
  readonly config: Pick<Config, 'DEAD_WORKER_GRACE_MS' | 'RESULT_TTL_S'>;
  readonly keys: Pick<KeySpace, 'jobLock' | 'workerDescriptor'>;
  readonly redis: Pick<Redis, 'exists'>;
  readonly ingress: Pick<Queue<JobPayload>, 'add'>;
  /** Reads a job as the API does: after a move, a job no read finds is sent back once more. */
  readonly reader: Pick<JobReader, 'read'>;
  workerQueue(workerId: string): Pick<Queue<JobPayload>, 'getJobs'>;
  readonly publish: PublishStatus;
  readonly logger: Pick<ErrorLogger, 'info' | 'warn'>;
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
 *
 * The worker may return while a pass runs (a restarted host, after the grace). The pass then
 * stops: the worker takes the rest back itself. A job already sent back can meanwhile have
 * been routed to that same worker again; its add was a no-op (the job was still in the queue,
 * and BullMQ ignores an add of an id it holds), so the removal that follows took the job's
 * only copy. Hence each move ends with a read, and a job no read finds goes back to ingress
 * once more (found by `npm run chaos`: a restarted host lost 96 of 451 stranded jobs).
 */
export class DeadWorkerRecovery {
  private readonly running = new Set<string>();

  constructor(private readonly options: DeadWorkerRecoveryOptions) {}

  /** Starts recovery of every dead worker with jobs left; never throws. */
  check(states: readonly WorkerQueueState[], now: number): void {
    for (const s of states) {
      const stranded = s.waiting + s.active + s.delayed;
      if (s.descriptor !== null || stranded === 0 || now - s.lastSeenAt < this.options.config.DEAD_WORKER_GRACE_MS) continue;
      if (this.running.has(s.id)) continue;
      this.running.add(s.id);
      this.recover(s.id)
        .catch((error: unknown) => this.options.logger.warn({ worker: s.id, err: String(error) }, 'dead-worker recovery failed'))
        .finally(() => this.running.delete(s.id));
    }
  }

  private async recover(workerId: string): Promise<void> {
    const { ingress, keys, redis, config, logger, reader } = this.options;
    const queue = this.options.workerQueue(workerId);
    const jobs = await queue.getJobs(['active', 'wait', 'prioritized', 'delayed'], 0, BATCH - 1);
    let moved = 0;
    for (const job of jobs) {
      const id = job.id;
      if (id === undefined) continue;
      if ((await redis.exists(keys.workerDescriptor(workerId))) === 1) {
        logger.info({ worker: workerId, moved }, 'dead worker is back; it takes its remaining jobs itself');
        break;
      }
      if ((await redis.exists(keys.jobLock(workerQueueName(workerId), id))) === 1) continue;
      const { dispatchedAt: _dispatchedAt, ...payload } = job.data;
      const options = ingressJobOptions(id, BULLMQ_PRIORITY[payload.priority], config);
      await ingress.add('job', payload, options);
      await job.remove();
      if ((await reader.read(id)) === null) {
        logger.warn({ jobId: id, worker: workerId }, 'job sent back was routed to its returning worker before its removal; sent back again');
        await ingress.add('job', payload, options);
      }
      this.options.publish({ id, status: 'queued', at: Date.now() });
      logger.info({ jobId: id, worker: workerId }, 'job of a dead worker sent back for routing');
      moved++;
    }
    if (moved > 0) logger.warn({ worker: workerId, moved }, 'recovered jobs from a dead worker');
  }
}
