import type { Redis } from 'ioredis';
import { isTerminal, type PendingState, type StatusMessage } from '@sched/core';
import { subscribeWhenReady, type Logger } from '@sched/runtime';

type Wake = (message: StatusMessage | null) => void;

/** What the hub remembers of a job this process accepted (see {@link StatusHub.rememberAccepted}). */
export type AcceptedState = PendingState & {
  /** The tenant that submitted it: only its owner (or an admin) may skip reading it (no existence oracle). */
  owner: string;
};

/** A remembered acceptance is kept 30–60 s (two generations), at most this many per generation. */
const ACCEPTED_GENERATION_MS = 30_000;
const ACCEPTED_MAX = 100_000;

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
  private subscribed = false;
  /** Jobs accepted here whose end this subscription has not seen yet: current and previous generation. */
  private accepted = new Map<string, AcceptedState>();
  private acceptedBefore = new Map<string, AcceptedState>();
  private readonly rotation: NodeJS.Timeout;

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
    // Messages sent while the subscription is down are lost: nothing remembered stays trustworthy.
    subscriber.on('close', () => this.forgetAllAccepted());
    this.rotation = setInterval(() => {
      this.acceptedBefore = this.accepted;
      this.accepted = new Map();
    }, ACCEPTED_GENERATION_MS);
    this.rotation.unref();
  }

  /** Subscribes in the background: an API started while Redis is down still starts (and answers 503). */
  start(): void {
    subscribeWhenReady(this.subscriber, [this.channel]).then(
      () => (this.subscribed = true),
      (error: unknown) => this.logger.warn({ err: String(error) }, 'subscribe failed'),
    );
  }

  /**
   * Remembers a new job this process is about to add (call it before the add: an end message may
   * come before the add's answer does), while the subscription is up: until its end message arrives
   * here, the job is known not to have ended, so a long-poll on it need not read it first (it is read
   * when it ends). Only for a fresh id, never an idempotent one (which may name an old job); forget
   * it if the add fails. Forgotten after 30–60 s, when
   * the subscription drops, or past ACCEPTED_MAX entries (then simply not remembered: a read decides).
   */
  rememberAccepted(jobId: string, state: AcceptedState): void {
    if (!this.subscribed || this.subscriber.status !== 'ready' || this.accepted.size >= ACCEPTED_MAX) return;
    this.accepted.set(jobId, state);
  }

  /** The state of a job accepted here whose end this subscription has not seen (see rememberAccepted). */
  acceptedState(jobId: string): AcceptedState | undefined {
    if (this.subscriber.status !== 'ready') return undefined;
    return this.accepted.get(jobId) ?? this.acceptedBefore.get(jobId);
  }

  /** Stops the generation timer (the subscriber connection is the caller's). */
  close(): void {
    clearInterval(this.rotation);
  }

  /** Forgets one remembered job (its add failed, or may not have happened): it will be read. */
  forgetAccepted(jobId: string): void {
    this.accepted.delete(jobId);
    this.acceptedBefore.delete(jobId);
  }

  private forgetAllAccepted(): void {
    this.accepted = new Map();
    this.acceptedBefore = new Map();
  }

  /** Registers interest in a job; the returned handle's `next()` resolves on its next status message. */
  watch(jobId: string): JobWatch {
    return new JobWatch(jobId, this.waiters);
  }

  /** Registers interest in many jobs at once; the handle's `next()` resolves with every message since the last call. */
  watchMany(jobIds: Iterable<string>): JobSetWatch {
    return new JobSetWatch(jobIds, this.waiters);
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
    if (isTerminal(message.status)) {
      this.accepted.delete(message.id);
      this.acceptedBefore.delete(message.id);
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

/** What woke a {@link JobSetWatch}: the messages since the last call, and whether some may have been lost. */
export interface JobSetWake {
  readonly messages: readonly StatusMessage[];
  /** The subscription reconnected: messages may have been lost, so every job should be read again. */
  readonly missed: boolean;
}

/** Buffers the status messages of a set of jobs from the moment it is created, for one waiter. */
export class JobSetWatch {
  private readonly jobIds: readonly string[];
  private messages: StatusMessage[] = [];
  private missed = false;
  private pending: (() => void) | null = null;
  private readonly wake: Wake = (message) => {
    if (message === null) this.missed = true;
    else this.messages.push(message);
    const resolve = this.pending;
    this.pending = null;
    resolve?.();
  };

  constructor(
    jobIds: Iterable<string>,
    private readonly waiters: Map<string, Set<Wake>>,
  ) {
    this.jobIds = [...new Set(jobIds)];
    for (const id of this.jobIds) {
      let set = waiters.get(id);
      if (!set) waiters.set(id, (set = new Set()));
      set.add(this.wake);
    }
  }

  /** Every message since the last call, as soon as there is one; undefined after `timeoutMs` (or on abort) without one. */
  async next(timeoutMs: number, signal?: AbortSignal): Promise<JobSetWake | undefined> {
    if (!this.woken) {
      if (signal?.aborted === true) return undefined;
      await new Promise<void>((resolve) => {
        const finish = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', finish);
          this.pending = null;
          resolve();
        };
        const timer = setTimeout(finish, Math.max(0, timeoutMs));
        signal?.addEventListener('abort', finish, { once: true });
        this.pending = finish;
      });
      if (!this.woken) return undefined;
    }
    const wake = { messages: this.messages, missed: this.missed };
    this.messages = [];
    this.missed = false;
    return wake;
  }

  close(): void {
    for (const id of this.jobIds) {
      const set = this.waiters.get(id);
      if (!set) continue;
      set.delete(this.wake);
      if (set.size === 0) this.waiters.delete(id);
    }
  }

  private get woken(): boolean {
    return this.messages.length > 0 || this.missed;
  }
}
