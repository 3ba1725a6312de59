/** Where it writes: one object of fields and one message per line (pino's shape). */
export interface ErrorLogger {
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

/** Anything that emits errors: an ioredis connection, a BullMQ Queue or Worker. */
export interface ErrorEmitter {
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** A Redis connection: its errors and its `ready` tell whether Redis is reachable. */
export interface ConnectionEmitter {
  on(event: 'error' | 'ready', listener: (error: Error) => void): unknown;
}

/** Reports whether Redis is reachable to whoever asks (the API answers 503 while it is not). */
export interface RedisHealth {
  readonly reachable: boolean;
}

/**
 * The one owner of Redis `error` events in a process. An unhandled `error` event would crash the
 * process, and while Redis is down ioredis and BullMQ emit one per reconnect attempt (10/s), so
 * every connection, Queue and Worker is handed here.
 *
 * Reachability follows the connections only (`watchConnection`): their first error after a healthy
 * spell is logged at `warn` and marks Redis unreachable, the first `ready` after it at `info`.
 * A Queue's or Worker's error (`watch`) may be about something else (a lost lock when a job
 * finishes, a script error): it is logged at `warn` while Redis is reachable and at `debug` while it
 * is not (then it is the outage again, once per retry).
 */
export class RedisErrorLog implements RedisHealth {
  private down = false;

  constructor(private readonly logger: ErrorLogger) {}

  get reachable(): boolean {
    return !this.down;
  }

  /** Listens to a Queue's or Worker's errors; `what` names it in the log line. */
  watch(emitter: ErrorEmitter, what: string): void {
    emitter.on('error', (error: Error) => {
      if (this.down) this.logger.debug({ err: error.message, source: what }, 'redis error');
      else this.logger.warn({ err: error.message, source: what }, 'queue error');
    });
  }

  /** Listens to a connection's errors and `ready`, which decide `reachable`. */
  watchConnection(connection: ConnectionEmitter, what: string): void {
    connection.on('error', (error: Error) => {
      if (this.down) {
        this.logger.debug({ err: error.message, connection: what }, 'redis error');
        return;
      }
      this.down = true;
      this.logger.warn({ err: error.message, connection: what }, 'redis unreachable');
    });
    connection.on('ready', () => {
      if (!this.down) return;
      this.down = false;
      this.logger.info({ connection: what }, 'redis reachable again');
    });
  }
}
