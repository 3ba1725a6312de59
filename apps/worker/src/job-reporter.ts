import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { USAGE_FIELDS, executionsStarted, fairVirtualTimeField, isCancelledReason, payloadOwner, type JobPayload, type JobResult, type KeySpace, type ResolvedWorker, type StatusMessage } from '@sched/core';
import type { Logger, WebhookOutbox } from '@sched/runtime';
import type { WorkerMetrics } from '@sched/telemetry';

/** What the reporter reads of a BullMQ job. */
export type ReportedJob = Pick<Job<JobPayload, JobResult>, 'id' | 'data' | 'processedOn' | 'finishedOn' | 'attemptsStarted' | 'attemptsMade'>;

export interface JobReporterOptions {
  readonly worker: Pick<ResolvedWorker, 'id' | 'class'>;
  /** The host's shared connection for commands and publishing. */
  readonly publisher: Redis;
  readonly keys: Pick<KeySpace, 'statusChannel' | 'usage' | 'fairQueue'>;
  /** Where a finished job's webhook delivery goes. */
  readonly outbox: Pick<WebhookOutbox, 'release' | 'forget'>;
  readonly metrics: Pick<WorkerMetrics, 'jobsCompleted' | 'jobDuration'>;
  readonly logger: Logger;
}

/**
 * What one worker tells the rest of the system about its jobs: status messages on the status
 * channel (running, a retry sent back to waiting, completed or failed), the webhook released at the
 * end, and the job metrics. A failed publish is logged,
 * never thrown: the job's state in its queue is the record.
 */
export class JobReporter {
  private readonly log: Logger;

  constructor(private readonly options: JobReporterOptions) {
    this.log = options.logger.child({ worker: options.worker.id });
  }

  running(job: Pick<ReportedJob, 'id' | 'attemptsStarted' | 'data'>): void {
    const { publisher, keys, worker } = this.options;
    const { fairStart, priority } = job.data;
    // Fair sharing: the queue's virtual time is the tag of the job it started last (one write, not
    // awaited; jobs start in rank order on this one connection, so the writes land in that order).
    if (fairStart !== undefined) {
      publisher.hset(keys.fairQueue(worker.id), fairVirtualTimeField(priority), fairStart).catch((error: unknown) => this.log.warn({ jobId: job.id, err: String(error) }, 'could not record the fair virtual time'));
    }
    this.publish({ id: job.id ?? '', status: 'running', worker: worker.id, at: Date.now(), attempt: executionsStarted(job.data, job.attemptsStarted) });
  }

  completed(job: ReportedJob): void {
    const now = Date.now();
    this.finish(job, 'completed', now);
    this.log.debug({ jobId: job.id, serviceMs: now - (job.processedOn ?? now) }, 'job completed');
  }

  /** An attempt failed: back to waiting while BullMQ has attempts left, else the job failed (or was cancelled while running). */
  failed(job: ReportedJob, error: Error): void {
    const { worker, outbox, metrics } = this.options;
    const id = job.id ?? '';
    // BullMQ sets finishedOn only when no retry is left.
    if (job.finishedOn === undefined) {
      outbox.forget(id);
      this.publish({ id, status: 'dispatched', worker: worker.id, retry: true, at: Date.now(), attempt: executionsStarted(job.data, job.attemptsStarted) });
      metrics.jobsCompleted.inc({ model: job.data.model, class: worker.class, worker: worker.id, outcome: 'retried' });
      this.log.info({ jobId: id, attempt: job.attemptsMade, err: error.message }, 'job attempt failed; retrying');
      return;
    }
    if (isCancelledReason(error.message)) {
      this.finish(job, 'cancelled', Date.now());
      this.log.info({ jobId: id }, 'running job cancelled');
      return;
    }
    this.finish(job, 'failed', Date.now());
    this.log.warn({ jobId: id, attempts: job.attemptsMade, err: error.message }, 'job failed');
  }

  /** Terminal: publish, deliver the webhook, observe. */
  private finish(job: ReportedJob, status: 'completed' | 'failed' | 'cancelled', now: number): void {
    const { worker, outbox } = this.options;
    const id = job.id ?? '';
    this.publish({ id, status, worker: worker.id, at: now, totalMs: now - job.data.createdAt, attempt: executionsStarted(job.data, job.attemptsStarted) });
    outbox
      .release(id, job.data)
      // The reserved delivery still fires after WEBHOOK_RECHECK_MS.
      .catch((error: unknown) => this.log.warn({ jobId: id, err: String(error) }, 'could not release webhook; it goes out after the re-check delay'));
    this.observe(job, status, now);
    this.countUsage(job, status, now);
  }

  /** The job's owner's usage counters (see USAGE_FIELDS): one write, not awaited, like the status message. */
  private countUsage(job: ReportedJob, outcome: 'completed' | 'failed' | 'cancelled', now: number): void {
    const { publisher, keys, worker } = this.options;
    const key = keys.usage(payloadOwner(job.data));
    // A job stopped while running counts as cancelled, and the time it held its slot as service.
    publisher
      .pipeline()
      .hincrby(key, outcome === 'cancelled' ? USAGE_FIELDS.cancelled : USAGE_FIELDS.finished(outcome, worker.id), 1)
      .hincrby(key, USAGE_FIELDS.serviceMs(worker.id), Math.max(0, Math.round(now - (job.processedOn ?? now))))
      .exec()
      .catch((error: unknown) => this.log.warn({ jobId: job.id, err: String(error) }, 'could not count usage'));
  }

  private observe(job: ReportedJob, outcome: 'completed' | 'failed' | 'cancelled', now: number): void {
    const { metrics, worker } = this.options;
    const labels = { model: job.data.model, class: worker.class };
    const started = job.processedOn ?? now;
    metrics.jobsCompleted.inc({ ...labels, worker: worker.id, outcome });
    // A job stopped by its owner says nothing of how long jobs take.
    if (outcome === 'cancelled') return;
    metrics.jobDuration.observe({ ...labels, stage: 'queue' }, (started - job.data.createdAt) / 1000);
    metrics.jobDuration.observe({ ...labels, stage: 'service' }, (now - started) / 1000);
    metrics.jobDuration.observe({ ...labels, stage: 'total' }, (now - job.data.createdAt) / 1000);
  }

  private publish(message: StatusMessage): void {
    this.options.publisher
      .publish(this.options.keys.statusChannel, JSON.stringify(message))
      .catch((error: unknown) => this.log.warn({ jobId: message.id, err: String(error) }, 'could not publish status'));
  }
}
