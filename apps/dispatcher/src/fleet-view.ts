import type { WorkerQueueState, WorkerState } from '@sched/core';
import type { FleetSnapshot, WorkerView } from '@sched/policies';

/** The dispatcher's in-memory record of one worker. */
export interface TrackedWorker extends WorkerView {
  depth: number;
  models: readonly string[];
  state: WorkerState;
  alive: boolean;
  heartbeatAt: number;
  serviceMs: Readonly<Record<string, number>>;
}

/**
 * The fleet as the dispatcher sees it, kept in memory: refreshed from Redis
 * about once a second, and between refreshes adjusted by the dispatcher's own
 * dispatches (+1) and the completion signal (−1), so a decision never waits on Redis.
 */
export class FleetView implements FleetSnapshot {
  private readonly workers = new Map<string, TrackedWorker>();
  private byModel = new Map<string, TrackedWorker[]>();

  eligible(model: string): readonly TrackedWorker[] {
    return this.byModel.get(model) ?? [];
  }

  get(id: string): TrackedWorker | undefined {
    return this.workers.get(id);
  }

  all(): IterableIterator<TrackedWorker> {
    return this.workers.values();
  }

  /** Replaces the view with what Redis holds; returns the models that gained a worker. */
  apply(states: readonly WorkerQueueState[]): Set<string> {
    const before = new Set(this.byModel.keys());
    for (const s of states) {
      const d = s.descriptor;
      const existing = this.workers.get(s.id);
      const tracked: TrackedWorker = {
        id: s.id,
        class: d?.class ?? existing?.class ?? 'unknown',
        slots: d?.slots ?? existing?.slots ?? 1,
        models: d?.models ?? existing?.models ?? [],
        depth: s.waiting + s.active,
        state: d?.state ?? 'draining',
        alive: d !== null,
        heartbeatAt: d?.heartbeatAt ?? s.lastSeenAt,
        serviceMs: d?.serviceMs ?? {},
      };
      this.workers.set(s.id, tracked);
    }
    this.reindex();
    const gained = new Set<string>();
    for (const model of this.byModel.keys()) if (!before.has(model)) gained.add(model);
    return gained;
  }

  onDispatched(workerId: string): void {
    const worker = this.workers.get(workerId);
    if (worker) worker.depth++;
  }

  onFinished(workerId: string): void {
    const worker = this.workers.get(workerId);
    if (worker && worker.depth > 0) worker.depth--;
  }

  /** A worker announced it is draining or leaving: stop routing to it before the next refresh. */
  markUnavailable(workerId: string): void {
    const worker = this.workers.get(workerId);
    if (!worker) return;
    worker.state = 'draining';
    this.reindex();
  }

  private reindex(): void {
    const byModel = new Map<string, TrackedWorker[]>();
    for (const worker of this.workers.values()) {
      if (!worker.alive || worker.state !== 'live') continue;
      for (const model of worker.models) {
        let list = byModel.get(model);
        if (!list) byModel.set(model, (list = []));
        list.push(worker);
      }
    }
    this.byModel = byModel;
  }
}
