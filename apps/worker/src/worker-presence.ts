import type { Redis } from 'ioredis';
import { encodeDescriptor, type FleetMessage, type KeySpace, type WorkerDescriptor } from '@sched/core';
import type { Logger } from '@sched/runtime';

/** A worker as its heartbeat sees it. */
export interface HeartbeatSource {
  readonly spec: { readonly id: string };
  descriptor(now: number): WorkerDescriptor;
}

export interface WorkerPresenceOptions {
  /** The host's shared connection. */
  readonly redis: Redis;
  readonly keys: KeySpace;
  /** Beat interval; a descriptor lives three beats. */
  readonly heartbeatMs: number;
  readonly workers: readonly HeartbeatSource[];
  readonly logger: Logger;
}

/**
 * How the host's workers exist for dispatchers and the API: each beat writes every descriptor
 * (TTL of three beats, so the key exists exactly while the worker is alive) and its fleet-set
 * score in one pipeline; `joined`, `draining` and `left` go out on the fleet channel so
 * dispatchers react before their next fleet refresh.
 */
export class WorkerPresence {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: WorkerPresenceOptions) {}

  async beat(): Promise<void> {
    const { redis, keys, heartbeatMs, workers } = this.options;
    const now = Date.now();
    const pipeline = redis.pipeline();
    for (const worker of workers) {
      const key = keys.workerDescriptor(worker.spec.id);
      pipeline.hset(key, encodeDescriptor(worker.descriptor(now)));
      pipeline.pexpire(key, heartbeatMs * 3);
      pipeline.zadd(keys.fleetSet, now, worker.spec.id);
    }
    await pipeline.exec();
  }

  async announce(event: FleetMessage['event']): Promise<void> {
    const { redis, keys, workers } = this.options;
    const pipeline = redis.pipeline();
    for (const worker of workers) {
      const message: FleetMessage = { worker: worker.spec.id, event, at: Date.now() };
      pipeline.publish(keys.fleetChannel, JSON.stringify(message));
    }
    await pipeline.exec();
  }

  /** Beats every HEARTBEAT_MS until `stop()`; a failed beat is logged and the next one tries again. */
  startBeating(): void {
    this.timer = setInterval(() => {
      this.beat().catch((error: unknown) => this.options.logger.warn({ err: String(error) }, 'heartbeat failed'));
    }, this.options.heartbeatMs);
  }

  stopBeating(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** At shutdown: one beat with the workers' `draining` state and the event, so dispatchers stop routing here at once. */
  async markDraining(): Promise<void> {
    await this.beat().catch((error: unknown) => this.warn(error, 'could not mark the workers draining'));
    await this.announce('draining').catch((error: unknown) => this.warn(error, 'could not announce draining'));
  }

  /** At shutdown, once drained: the descriptors go (the workers are gone, not dead) and `left` goes out. */
  async leave(): Promise<void> {
    const { redis, keys, workers } = this.options;
    const pipeline = redis.pipeline();
    for (const worker of workers) pipeline.del(keys.workerDescriptor(worker.spec.id));
    await pipeline.exec().catch((error: unknown) => this.warn(error, 'could not remove the worker descriptors'));
    await this.announce('left').catch((error: unknown) => this.warn(error, 'could not announce leaving'));
  }

  private warn(error: unknown, message: string): void {
    this.options.logger.warn({ err: String(error) }, message);
  }
}
