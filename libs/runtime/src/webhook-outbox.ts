import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { WEBHOOK_QUEUE, type Config, type JobPayload, type JobView } from '@sched/core';
import { producerQueueOptions, webhookJobOptions } from './queue-options.js';
import type { RedisErrorLog } from './redis-errors.js';

/** What a `webhooks` job carries; its BullMQ id is the job's id, so it exists at most once per job. */
export interface WebhookJobData {
  jobId: string;
  url: string;
  /**
   * The body every attempt sends: the job's view as read for the first attempt, kept here once an
   * attempt fails, so the retries (up to ~27 h) go on after the job's own retention (RESULT_TTL_S) ends.
   */
  view?: JobView;
}

/**
 * Puts a job's webhook delivery in the `webhooks` queue without ever losing it to a crash.
 *
 * `reserve` is called before a job can finish (a worker picking it up, the dispatcher about to
 * fail it): it adds the delivery as a *delayed* job, a safety net that fires WEBHOOK_RECHECK_MS
 * later. `release` is called once the job has finished and promotes it at once. If the process
 * dies in between, the safety net still fires; the sender checks that the job is terminal and
 * looks again later when it is not. Adding is idempotent (the id is the job id), so a retried
 * or recovered job reserves the same delivery.
 */
export class WebhookOutbox {
  private readonly queue: Queue<WebhookJobData>;
  private readonly reserved = new Map<string, Job<WebhookJobData>>();

  constructor(
    connection: Redis,
    private readonly config: Pick<Config, 'KEY_PREFIX' | 'WEBHOOK_RECHECK_MS' | 'WEBHOOK_MAX_ATTEMPTS' | 'RESULT_TTL_S'>,
    errors: Pick<RedisErrorLog, 'watch'>,
  ) {
    this.queue = new Queue<WebhookJobData>(WEBHOOK_QUEUE, producerQueueOptions(connection, config.KEY_PREFIX));
    errors.watch(this.queue, 'webhooks queue');
  }

  /** Adds the safety-net delivery of a job that has a webhook; a no-op for one without. */
  async reserve(jobId: string, payload: Pick<JobPayload, 'webhook'>): Promise<void> {
    if (payload.webhook === undefined) return;
    const job = await this.add(jobId, payload.webhook.url, this.config.WEBHOOK_RECHECK_MS);
    this.reserved.set(jobId, job);
  }

  /** The job has finished: deliver now (adds the delivery if nothing reserved it). */
  async release(jobId: string, payload: Pick<JobPayload, 'webhook'>): Promise<void> {
    if (payload.webhook === undefined) return;
    const job = this.reserved.get(jobId) ?? (await this.add(jobId, payload.webhook.url, this.config.WEBHOOK_RECHECK_MS));
    this.reserved.delete(jobId);
    // Throws when the delivery is no longer delayed (its safety net fired, or it already ran): nothing to do.
    await job.promote().catch(() => undefined);
  }

  /** Forget a reservation without delivering (the job will be retried elsewhere). */
  forget(jobId: string): void {
    this.reserved.delete(jobId);
  }

  private add(jobId: string, url: string, delay: number): Promise<Job<WebhookJobData>> {
    return this.queue.add('deliver', { jobId, url }, webhookJobOptions(jobId, delay, this.config));
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
