import type { Redis } from 'ioredis';
import type { KeySpace } from '@sched/core';
import { subscribeWhenReady, type Logger } from '@sched/runtime';

/** What the listener needs of a worker: its id, and a way to stop a job it is executing. */
export interface CancellableWorker {
  readonly spec: { readonly id: string };
  cancel(jobId: string): boolean;
}

export interface CancelListenerOptions {
  /** A connection of its own: it is in subscriber mode once started. */
  readonly subscriber: Redis;
  readonly keys: Pick<KeySpace, 'workerCancelChannel'>;
  readonly workers: readonly CancellableWorker[];
  readonly logger: Logger;
}

/**
 * Where a `DELETE` of a running job reaches the process running it: BullMQ's `Worker.cancelJob`
 * works in-process only, so the API publishes the job id on its worker's cancel channel and the
 * host that runs that worker (subscribed to one channel per worker it runs) stops it there. A
 * message for a job not active on the worker (finished meanwhile, or not fetched) does nothing;
 * the API's wait for the job's status message tells it which happened.
 */
export class CancelListener {
  private readonly byChannel: ReadonlyMap<string, CancellableWorker>;

  constructor(private readonly options: CancelListenerOptions) {
    this.byChannel = new Map(options.workers.map((worker) => [options.keys.workerCancelChannel(worker.spec.id), worker]));
  }

  async start(): Promise<void> {
    const { subscriber, logger } = this.options;
    subscriber.on('message', (channel: string, jobId: string) => {
      const worker = this.byChannel.get(channel);
      if (worker === undefined) return;
      const stopped = worker.cancel(jobId);
      logger.debug({ worker: worker.spec.id, jobId, stopped }, stopped ? 'stopping a cancelled job' : 'cancel for a job not active here');
    });
    await subscribeWhenReady(subscriber, [...this.byChannel.keys()]);
  }
}
