import type { Logger } from 'pino';

/** Anything that emits Redis connection errors: an ioredis connection, a BullMQ Queue or Worker. */
export interface ErrorEmitter {
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** Reports whether Redis is reachable to whoever asks (the API answers 503 while it is not). */
export interface RedisHealth {
  readonly reachable: boolean;
}

/**
 * The one owner of Redis `error` events in a process. An unhandled `error` event would crash the
 * process, and while Redis is down ioredis and BullMQ emit one per reconnect attempt (10/s), so
 * every connection, Queue and Worker is handed here: the first error after a healthy spell is
 * logged at `warn`, repeats at `debug`, and the first `ready` after an outage at `info`.
 */
export class RedisErrorLog implements RedisHealth {
  private down = false;

  constructor(private readonly logger: Pick<Logger, 'warn' | 'info' | 'debug'>) {}

  get reachable(): boolean {
    return !this.down;
  }

  /** Listens to `emitter`'s errors; `what` names it in the log line. */
  watch(emitter: ErrorEmitter, what: string): void {
    emitter.on('error', (error: Error) => this.onError(error, what));
  }

  /** Also tracks a connection's `ready` to tell when Redis is back. */
  watchConnection(connection: ErrorEmitter & { on(event: 'ready', listener: () => void): unknown }, what: string): void {
    this.watch(connection, what);
    connection.on('ready', () => {
      if (!this.down) return;
      this.down = false;
      this.logger.info({ connection: what }, 'redis reachable again');
    });
  }

  private onError(error: Error, what: string): void {
    if (this.down) {
      this.logger.debug({ err: error.message, connection: what }, 'redis error');
      return;
    }
    this.down = true;
    this.logger.warn({ err: error.message, connection: what }, 'redis unreachable');
  }
}
