import { SchedError } from '@sched/core';

/**
 * Open long-polls, waits and event streams per owner in this API process (MAX_WATCHERS_PER_KEY):
 * each holds a connection and a place in the status hub for up to MAX_LONG_POLL_S (a stream, for
 * as long as its job runs), so one key cannot hold every socket of the process. Counted per
 * process, not across replicas: the connections it protects are this process's.
 */
export class WatcherLimit {
  private readonly open = new Map<string, number>();

  /** @param max watchers per owner at once; 0 for no limit */
  constructor(private readonly max: number) {}

  /** Takes a place for `owner`, or null when it has none left; call the returned release once. */
  tryAcquire(owner: string): (() => void) | null {
    const count = this.open.get(owner) ?? 0;
    if (this.max > 0 && count >= this.max) return null;
    this.open.set(owner, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(owner) ?? 1) - 1;
      if (left <= 0) this.open.delete(owner);
      else this.open.set(owner, left);
    };
  }

  /** Like tryAcquire, but throws 429 `too_many_watchers` when there is no place. */
  acquire(owner: string): () => void {
    const release = this.tryAcquire(owner);
    if (release !== null) return release;
    throw new SchedError('too_many_watchers', `this API key already holds ${this.max} open long-polls, waits or event streams on this server (MAX_WATCHERS_PER_KEY); close some or poll without waiting`, {
      retryAfterS: 1,
    });
  }
}
