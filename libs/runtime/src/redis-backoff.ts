import { DelayedError } from 'bullmq';
import { isRedisUnavailableError } from '@sched/core';
import type { Logger } from './logger.js';

/** The first wait of a job whose processing Redis refused; it doubles with each pick-up, up to REDIS_BACKOFF_MAX_MS. */
const REDIS_BACKOFF_MS = 100;
const REDIS_BACKOFF_MAX_MS = 5000;

/** Wait before the `attemptsStarted`-th pick-up of a job is tried again, ±20 % so a recovering Redis is not hit by every job at once. */
export function redisBackoffMs(attemptsStarted: number, random: () => number = Math.random): number {
  const nominal = Math.min(REDIS_BACKOFF_MAX_MS, REDIS_BACKOFF_MS * 2 ** Math.min(16, Math.max(0, attemptsStarted - 1)));
  return Math.round(nominal * (0.8 + 0.4 * random()));
}

/** What waiting out Redis needs of a BullMQ job being processed (a Job is one). */
export interface DelayableJob {
  readonly id?: string | undefined;
  /** Processings started, this one included. */
  readonly attemptsStarted: number;
  moveToDelayed(timestamp: number, token?: string): Promise<void>;
}

/**
 * For a processor whose write Redis refused or could not take (out of memory under `noeviction`, a
 * read-only replica, a lost connection): the job goes back to its queue, delayed with a backoff,
 * and BullMQ counts no attempt (DelayedError) — Redis being full for a while must not fail the jobs
 * it holds. Any other error is rethrown as it is. (BullMQ's own moves start by removing, which Redis
 * allows when full, so the move itself gets through.)
 */
export async function waitOutRedis(
  job: DelayableJob,
  token: string | undefined,
  error: unknown,
  logger: Pick<Logger, 'warn'>,
  now: () => number = Date.now,
): Promise<never> {
  if (!isRedisUnavailableError(error)) throw error;
  const delayMs = redisBackoffMs(job.attemptsStarted);
  logger.warn({ jobId: job.id, err: error instanceof Error ? error.message : String(error), delayMs }, 'Redis refused a write; the job waits in its queue');
  await job.moveToDelayed(now() + delayMs, token);
  throw new DelayedError();
}
