import type { Redis } from 'ioredis';
import type { StatusMessage } from '@sched/core';
import { subscribeWhenReady, type Logger } from '@sched/runtime';

type Wake = (message: StatusMessage | null) => void;

/**
 * One Redis subscription per API process, fanned out to every long-poll and
 * SSE stream waiting on a job. Waiters register before they read the job, so a
 * change landing between the read and the wait still wakes them. After a
 * reconnect every waiter is woken (with null) to re-read, since messages sent
 * while disconnected are lost.
 */
export class StatusHub {
  private readonly waiters = new Map<string, Set<Wake>>();
  private readonly listeners = new Set<(message: StatusMessage) => void>();
  private wasReady = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly logger: Logger,
    private readonly publisher?: Redis,
  ) {
    subscriber.on('message', (_channel: string, text: string) => this.receive(text));
    subscriber.on('ready', () => {
      if (this.wasReady) this.wakeAll();
      this.wasReady = true;
    });
  }

  /** Subscribes in the background: an API started while Redis is down still starts (and answers 503). */
  start(): void {
    subscribeWhenReady(this.subscriber, [this.channel]).catch((error: unknown) => this.logger.warn({ err: String(error) }, 'subscribe failed'));
  }

  /** Registers interest in a job; the returned handle's `next()` resolves on its next status message. */
  watch(jobId: string): JobWatch {
    return new JobWatch(jobId, this.waiters);
  }

  /** Publishes a status change (on the API's own connection). */
  async publish(message: StatusMessage): Promise<void> {
    if (this.publisher === undefined) throw new Error('this StatusHub was made without a publisher');
    await this.publisher.publish(this.channel, JSON.stringify(message));
  }

  /** Every status message, for process-wide views such as the fleet page's statistics. */
  onMessage(listener: (message: StatusMessage) => void): void {
    this.listeners.add(listener);
  }

  get waiting(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  private receive(text: string): void {
    let message: StatusMessage;
    try {
      message = JSON.parse(text) as StatusMessage;
    } catch {
      return;
    }
    const set = this.waiters.get(message.id);
    if (set) for (const wake of set) wake(message);
    for (const listener of this.listeners) listener(message);
  }

  private wakeAll(): void {
    for (const set of this.waiters.values()) for (const wake of set) wake(null);
  }
}

/** Buffers status messages for one job from the moment it is created. */
export class JobWatch {
  private readonly buffered: (StatusMessage | null)[] = [];
  private pending: Wake | null = null;
  private readonly wake: Wake = (message) => {
    if (this.pending) {
      const resolve = this.pending;
      this.pending = null;
      resolve(message);
    } else {
      this.buffered.push(message);
    }
  };

  constructor(
    private readonly jobId: string,
    private readonly waiters: Map<string, Set<Wake>>,
  ) {
    let set = waiters.get(jobId);
    if (!set) waiters.set(jobId, (set = new Set()));
    set.add(this.wake);
  }

  /** The next message (null = "re-read, something may have been missed"), or undefined after `timeoutMs`. */
  next(timeoutMs: number, signal?: AbortSignal): Promise<StatusMessage | null | undefined> {
    if (this.buffered.length > 0) return Promise.resolve(this.buffered.shift());
    return new Promise((resolve) => {
      const finish = (value: StatusMessage | null | undefined): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.pending = null;
        resolve(value);
      };
      const onAbort = (): void => finish(undefined);
      const timer = setTimeout(() => finish(undefined), Math.max(0, timeoutMs));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending = finish;
    });
  }


  close(): void {
    const set = this.waiters.get(this.jobId);
    if (!set) return;
    set.delete(this.wake);
    if (set.size === 0) this.waiters.delete(this.jobId);
  }
}
