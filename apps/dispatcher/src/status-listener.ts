import type { FleetMessage, KeySpace, StatusMessage } from '@sched/core';
import type { Logger } from '@sched/runtime';
import type { FleetView } from './fleet-view.js';
import type { JobHolder } from './job-holder.js';

export interface StatusListenerOptions {
  readonly keys: Pick<KeySpace, 'statusChannel' | 'fleetChannel' | 'cancelChannel'>;
  readonly fleet: Pick<FleetView, 'onDispatchedElsewhere' | 'onFinished' | 'markUnavailable'>;
  /** The held jobs of a late-binding dispatcher; null for a policy that binds on arrival. */
  readonly holder: Pick<JobHolder, 'round' | 'cancel'> | null;
  /** Re-reads the fleet (a worker joined). */
  readonly refreshFleet: () => Promise<void>;
  /** A worker is draining or has left: its waiting jobs are taken back now (`DeadWorkerRecovery.handOver`). */
  readonly handOver: (workerId: string) => void;
  readonly logger: Pick<Logger, 'warn'>;
  /** @defaultValue Date.now */
  readonly now?: () => number;
  /** How long after the dispatcher that sent a finished job this one looks at the freed slot. @defaultValue 20 */
  readonly otherRoundDelayMs?: number;
}

const OTHER_ROUND_DELAY_MS = 20;

/**
 * The dispatcher's pub/sub messages: another dispatcher sent a job (one more on its worker), a
 * job finished on a worker (one fewer there if its send was counted here, and maybe room for a
 * held one), a worker joined or is leaving (its waiting
 * jobs are taken back at once), and (late binding only) a cancel request.
 */
export class StatusListener {
  private readonly now: () => number;
  private readonly otherRoundDelayMs: number;

  constructor(private readonly options: StatusListenerOptions) {
    this.now = options.now ?? Date.now;
    this.otherRoundDelayMs = options.otherRoundDelayMs ?? OTHER_ROUND_DELAY_MS;
  }

  /** The channels to subscribe to: cancel requests only when jobs are held here. */
  get channels(): string[] {
    const { keys, holder } = this.options;
    return holder === null ? [keys.statusChannel, keys.fleetChannel] : [keys.statusChannel, keys.fleetChannel, keys.cancelChannel];
  }

  /** One message; never throws (a bad message is logged). */
  handle(channel: string, text: string): void {
    const { keys, fleet, holder } = this.options;
    try {
      if (channel === keys.statusChannel) {
        const message = JSON.parse(text) as StatusMessage;
        if (message.status === 'dispatched' && message.retry !== true) {
          if (message.worker !== undefined) fleet.onDispatchedElsewhere(message.id, message.worker, this.now());
          return;
        }
        const finished = message.status === 'completed' || message.status === 'failed' || message.status === 'cancelled' || message.retry === true;
        if (!finished || message.worker === undefined) return;
        const send = fleet.onFinished(message.id, this.now(), message.retry !== true);
        const worker = message.worker;
        // The dispatcher that sent the job binds to the freed slot first; the others a moment later,
        // once its `dispatched` has reached them, so two do not fill one slot (when it binds none, the
        // slot waits that moment).
        if (send === 'own') holder?.round(worker);
        else if (holder !== null) setTimeout(() => holder.round(worker), this.otherRoundDelayMs).unref();
      } else if (channel === keys.fleetChannel) {
        const message = JSON.parse(text) as FleetMessage;
        if (message.event === 'joined') void this.options.refreshFleet().catch(() => undefined);
        else {
          fleet.markUnavailable(message.worker);
          this.options.handOver(message.worker);
        }
      } else if (channel === keys.cancelChannel) holder?.cancel(text);
    } catch (error) {
      this.options.logger.warn({ err: String(error) }, 'bad pub/sub message');
    }
  }
}
