import type { WorkerQueueState } from '@sched/runtime';
import { FleetIndex, type FleetIndexOptions, type WorkerLiveness, type WorkerView } from '@sched/policies';

/** A job this dispatcher routed and has not yet seen finish: where, and its expected work there. */
interface InFlight {
  position: number;
  workMs: number;
  at: number;
  /** Order in which its worker-queue add was sent (see `nextSendSeq`). */
  seq: number;
  /** Sent by this dispatcher (not announced by another). */
  own: boolean;
}

/** Whose send a finished job was, as far as this view counted it. */
export type FinishedSend = 'own' | 'announced' | 'uncounted';

/** How long a completion is remembered for reconciling reads (far longer than one read takes). */
const RECENTLY_FINISHED_MS = 10_000;
/** Entries older than this are dropped at a refresh (their completion message was missed). */
const IN_FLIGHT_MAX_AGE_MS = 10 * 60_000;

export interface FleetViewWorker {
  readonly view: WorkerView;
  readonly state: WorkerLiveness;
  readonly heartbeatAt: number;
}

/**
 * The dispatcher's fleet view around the shared `FleetIndex`: re-read from
 * Redis about once a second, and between reads adjusted by the sends it knows
 * of (its own, +1 job and its expected work, and those other dispatchers
 * announce on the status channel) and their completion messages (−1), so a
 * decision never waits on Redis. Queued work (for `sed` and `cost`) is the sum
 * of the expected service times of the jobs it knows were routed there.
 */
export class FleetView {
  readonly index: FleetIndex;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly heartbeats: number[] = [];
  /** Jobs whose completion message arrived lately: a read that still lists them active is stale for them. */
  private readonly recentlyFinished = new Map<string, number>();
  private sendSeq = 0;

  /** Call right before sending a worker-queue add on the connection the fleet is read on. */
  nextSendSeq(): number {
    return ++this.sendSeq;
  }

  /** Call right before the fleet read is sent: adds sent after it are not in the read. */
  markReadIssued(): number {
    return this.sendSeq;
  }

  /**
   * @param typicalServiceMs a worker's typical service time, for queued work this
   * dispatcher did not route and the worker has not yet measured
   */
  constructor(
    options: FleetIndexOptions,
    private readonly typicalServiceMs: (cls: string, models: readonly string[]) => number,
  ) {
    this.index = new FleetIndex([], options);
  }

  /**
   * Applies an authoritative read; returns true when some model gained its first live worker.
   * The read is reconciled with what happened while it was in flight, so it never re-counts a job
   * whose completion already arrived, nor forgets one dispatched after it was sent.
   */
  apply(states: readonly WorkerQueueState[], now: number, readSeq: number): boolean {
    const servedBefore = this.servedModels();
    const tracked = new Map<number, { count: number; workMs: number }>();
    const sentAfterRead = new Map<number, number>();
    for (const [id, entry] of this.inFlight) {
      if (now - entry.at > IN_FLIGHT_MAX_AGE_MS) {
        this.inFlight.delete(id);
        continue;
      }
      const t = tracked.get(entry.position) ?? { count: 0, workMs: 0 };
      t.count++;
      t.workMs += entry.workMs;
      tracked.set(entry.position, t);
      if (entry.seq > readSeq) sentAfterRead.set(entry.position, (sentAfterRead.get(entry.position) ?? 0) + 1);
    }
    for (const [id, at] of this.recentlyFinished) if (now - at > RECENTLY_FINISHED_MS) this.recentlyFinished.delete(id);
    for (const s of states) {
      const d = s.descriptor;
      let position = this.index.indexOf(s.id);
      if (d !== null) position = this.index.upsert({ id: s.id, class: d.class, slots: d.slots, models: d.models, costPerHour: d.costPerHour, maxBatch: d.maxBatch });
      if (position === -1) continue; // dead before this dispatcher ever saw it alive: nothing to route to
      this.index.setState(position, d === null ? 'dead' : d.state);
      this.heartbeats[position] = d?.heartbeatAt ?? s.lastSeenAt;
      const stillActive = s.activeIds.filter((id) => !this.recentlyFinished.has(id)).length;
      const depth = s.waiting + stillActive + (sentAfterRead.get(position) ?? 0);
      const t = tracked.get(position);
      const serviceMs = d?.serviceMs;
      const worker = this.index.worker(position);
      const fallback = (): number => this.typicalServiceMs(worker.class, worker.models);
      this.index.refresh(position, { depth, queuedWorkMs: queuedWork(depth, t, serviceMs, fallback), serviceMs });
    }
    for (const model of this.servedModels()) if (!servedBefore.has(model)) return true;
    return false;
  }

  onDispatched(jobId: string, workerId: string, workMs: number, now: number, seq: number): void {
    const position = this.index.indexOf(workerId);
    if (position === -1) return;
    this.index.dispatched(position, workMs);
    this.inFlight.set(jobId, { position, workMs, at: now, seq, own: true });
  }

  /**
   * Another dispatcher announced a send (its `dispatched` message, published right before its
   * worker-queue add): counted like an own send until its end, so dispatchers do not all fill the
   * same free slot between reads. The expected work is the worker's typical job (the payload is not
   * in the message). A message of this dispatcher's own send is skipped (already counted).
   */
  onDispatchedElsewhere(jobId: string, workerId: string, now: number): void {
    if (this.inFlight.has(jobId)) return;
    const position = this.index.indexOf(workerId);
    if (position === -1) return;
    const worker = this.index.worker(position);
    const workMs = this.typicalServiceMs(worker.class, worker.models);
    this.index.dispatched(position, workMs);
    // Received after a read was sent, it is counted on top of that read (like an own send after it).
    this.inFlight.set(jobId, { position, workMs, at: now, seq: ++this.sendSeq, own: false });
  }

  /**
   * A job finished (or went back to wait for a retry). Only a job counted here lowers its worker's
   * count (its own sends and the announced sends of others): one whose send was never counted (its
   * announcement came before this dispatcher subscribed) is already out of the next read, so
   * lowering for it too would undercount the worker and send it more than its share.
   */
  onFinished(jobId: string, now: number, final: boolean): FinishedSend {
    // A retried job comes back to the active list under the same id: only a final end is remembered.
    if (final) this.recentlyFinished.set(jobId, now);
    const entry = this.inFlight.get(jobId);
    if (entry === undefined) return 'uncounted';
    this.inFlight.delete(jobId);
    this.index.completed(entry.position, entry.workMs);
    return entry.own ? 'own' : 'announced';
  }

  /** A worker announced it is draining or leaving: stop routing to it before the next refresh. */
  markUnavailable(workerId: string): void {
    const position = this.index.indexOf(workerId);
    if (position !== -1) this.index.setState(position, 'draining');
  }

  *workers(): Generator<FleetViewWorker> {
    for (let position = 0; position < this.index.size; position++) {
      const view = this.index.worker(position);
      yield { view, state: view.state, heartbeatAt: this.heartbeats[position] ?? 0 };
    }
  }

  private servedModels(): Set<string> {
    const models = new Set<string>();
    for (let position = 0; position < this.index.size; position++) {
      const worker = this.index.worker(position);
      if (worker.state !== 'live') continue;
      for (const model of worker.models) models.add(model);
    }
    return models;
  }
}

/**
 * Work queued on a worker. When Redis agrees with what this dispatcher tracked,
 * the tracked sum is exact; when it differs (other dispatchers, a restart), the
 * tracked mean per job is scaled to the real depth, or the worker's observed
 * mean service time stands in.
 */
function queuedWork(
  depth: number,
  tracked: { count: number; workMs: number } | undefined,
  serviceMs: Readonly<Record<string, number>> | undefined,
  typical: () => number,
): number {
  if (depth === 0) return 0;
  if (tracked !== undefined && tracked.count > 0) return (tracked.workMs / tracked.count) * depth;
  const observed = Object.values(serviceMs ?? {});
  const mean = observed.length > 0 ? observed.reduce((a, b) => a + b, 0) / observed.length : typical();
  return depth * mean;
}
