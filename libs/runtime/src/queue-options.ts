import { UnrecoverableError, type JobsOptions, type QueueOptions, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { INGRESS_ATTEMPTS, INGRESS_BACKOFF, encodeJobError, type Config, type JobFailure } from '@sched/core';

/**
 * The one home of BullMQ queue and job options: how each of the three queues (ingress, a worker's
 * queue, webhooks) is opened, retried and retained. Callers pass the slice of config it reads.
 */

/** Custom backoff type of every webhook delivery job (the sender's `backoffStrategy` knows it). */
export const WEBHOOK_BACKOFF_TYPE = 'webhook';

/**
 * Options for a Queue (a producer: add, remove, read). `skipVersionCheck` saves an INFO per queue
 * object; it is safe on a Queue because only a Worker's blocking waits depend on the version.
 */
export function producerQueueOptions(connection: Redis, prefix: string): QueueOptions {
  return { connection, prefix, skipVersionCheck: true };
}

/**
 * Options for a Worker (a consumer). Never `skipVersionCheck` here: without the version BullMQ 6
 * assumes Redis 5 and rounds every blocking wait up to whole seconds, so a 20 ms retry backoff, a
 * parked job's re-check or a webhook retry would wait about a second on an idle worker.
 */
export function consumerOptions(
  connection: Redis,
  prefix: string,
  options: Pick<WorkerOptions, 'concurrency' | 'lockDuration' | 'stalledInterval' | 'settings'>,
): WorkerOptions {
  return { connection, prefix, ...options };
}

/**
 * An ingress job (API submit, or a job sent back for routing after its worker died). A dispatch
 * that fails on a passing Redis error is tried again; parking (DelayedError) and `no_worker`
 * (UnrecoverableError) use no attempts. Removed on completion: the worker queue's job is the record.
 */
export function ingressJobOptions(jobId: string, priority: number, config: Pick<Config, 'RESULT_TTL_S'>): JobsOptions {
  return {
    jobId,
    priority,
    attempts: INGRESS_ATTEMPTS,
    backoff: INGRESS_BACKOFF,
    removeOnComplete: true,
    removeOnFail: { age: config.RESULT_TTL_S },
  };
}

/** A job in a worker's queue: retried with exponential backoff, kept for RESULT_TTL_S after it ends. */
export function workerJobOptions(
  jobId: string,
  priority: number,
  config: Pick<Config, 'MAX_ATTEMPTS' | 'RETRY_BACKOFF_MS' | 'RESULT_TTL_S'>,
): JobsOptions {
  return {
    jobId,
    priority,
    attempts: config.MAX_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.RETRY_BACKOFF_MS },
    removeOnComplete: { age: config.RESULT_TTL_S },
    removeOnFail: { age: config.RESULT_TTL_S },
  };
}

/** A webhook delivery: the job id is the delivered job's, so a second reservation is a no-op. */
export function webhookJobOptions(
  jobId: string,
  delayMs: number,
  config: Pick<Config, 'WEBHOOK_MAX_ATTEMPTS' | 'RESULT_TTL_S'>,
): JobsOptions {
  return {
    jobId,
    delay: delayMs,
    attempts: config.WEBHOOK_MAX_ATTEMPTS,
    backoff: { type: WEBHOOK_BACKOFF_TYPE },
    removeOnComplete: { age: config.RESULT_TTL_S },
    removeOnFail: { age: config.RESULT_TTL_S },
  };
}

/**
 * What a processor throws for a JobFailure: BullMQ keeps only the message (as `failedReason`), so
 * the code travels encoded in it; a failure that may not be retried skips the remaining attempts.
 */
export function toBullmqError(failure: JobFailure): Error {
  const message = encodeJobError(failure);
  return failure.retryable ? new Error(message) : new UnrecoverableError(message);
}
