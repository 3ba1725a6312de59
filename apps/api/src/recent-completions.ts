import type { StatusMessage } from '@sched/core';

/** Window the fleet page summarises. */
export const WINDOW_MS = 60_000;

interface Completion {
  at: number;
  totalMs: number;
  worker: string;
}

export interface RecentSummary {
  /** Jobs finished per second over the window (or since the first one, if sooner). */
  throughputPerS: number;
  p99Ms: number | null;
  /** Share of the window's jobs per worker. */
  shareByWorker: Record<string, number>;
  jobs: number;
}

/** Completions of the last minute, from the status channel, for the fleet page. */
export class RecentCompletions {
  private items: Completion[] = [];
  private readonly startedAt: number;

  constructor(now: number) {
    this.startedAt = now;
  }

  record(message: StatusMessage): void {
    if (message.status !== 'completed' || message.worker === undefined || message.totalMs === undefined) return;
    this.items.push({ at: message.at, totalMs: message.totalMs, worker: message.worker });
    // Trim as we go (amortised), so memory stays bounded when nobody watches the page.
    if (this.items.length % 1024 === 0) this.trim(message.at);
  }

  summary(now: number): RecentSummary {
    this.trim(now);
    const jobs = this.items.length;
    const span = Math.max(1000, Math.min(WINDOW_MS, now - this.startedAt));
    const shareByWorker: Record<string, number> = {};
    for (const item of this.items) shareByWorker[item.worker] = (shareByWorker[item.worker] ?? 0) + 1 / jobs;
    const sorted = this.items.map((i) => i.totalMs).sort((a, b) => a - b);
    const p99Ms = jobs === 0 ? null : (sorted[Math.min(jobs - 1, Math.ceil(0.99 * jobs) - 1)] ?? null);
    return { throughputPerS: (jobs * 1000) / span, p99Ms, shareByWorker, jobs };
  }

  private trim(now: number): void {
    const cutoff = now - WINDOW_MS;
    let first = 0;
    while (first < this.items.length && (this.items[first] as Completion).at < cutoff) first++;
    if (first > 0) this.items = this.items.slice(first);
  }
}
