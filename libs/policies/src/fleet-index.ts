import { ownEntry, type JobSize } from '@sched/core';
import type { FleetSnapshot, RoutableJob, WorkerView } from './types.js';

/** `dead` workers stay known (their queue may still hold jobs) but are never eligible. */
export type WorkerLiveness = 'live' | 'draining' | 'dead';

/** What the index needs to know of a worker; a `ResolvedWorker` of a fleet file fits. */
export interface IndexedWorkerSpec {
  readonly id: string;
  readonly class: string;
  readonly slots: number;
  readonly models: readonly string[];
  readonly costPerHour?: number | undefined;
  readonly maxBatch?: number | undefined;
}

/** Load as read from the store (Redis, or the simulator's ground truth). */
export interface WorkerLoad {
  readonly depth: number;
  readonly queuedWorkMs?: number | undefined;
  readonly serviceMs?: Readonly<Record<string, number>> | undefined;
}

export interface FleetIndexOptions {
  /** The fleet's expected service time of a job (e.g. `LatencyModel#expectedMs`); without it `sed` uses observed times. */
  expectedServiceMs?: (model: string, cls: string, size: JobSize | undefined) => number;
  /** With fair sharing between tenants: a job's wait in a worker's queue (see `FleetSnapshot.fairWaitMs`). */
  fairWaitMs?: (job: RoutableJob, worker: WorkerView) => number | undefined;
}

class IndexedWorker implements WorkerView {
  class: string;
  slots: number;
  models: readonly string[];
  costPerHour: number | undefined;
  maxBatch: number | undefined;
  depth = 0;
  queuedWorkMs = 0;
  serviceMs: Readonly<Record<string, number>> | undefined = undefined;
  state: WorkerLiveness = 'live';

  constructor(
    readonly id: string,
    spec: IndexedWorkerSpec,
  ) {
    this.class = spec.class;
    this.slots = spec.slots;
    this.models = spec.models;
    this.costPerHour = spec.costPerHour;
    this.maxBatch = spec.maxBatch;
  }
}

const EMPTY: readonly WorkerView[] = Object.freeze([]);

/**
 * The dispatcher's in-memory fleet view, shared by the live dispatcher and the
 * simulator. Updates are O(1) (`dispatched`, `completed`, `refresh`); the
 * per-model eligible lists are rebuilt lazily only after a membership change
 * (`upsert`, `setState`), which is rare, so `eligible(model)` is a map lookup.
 */
export class FleetIndex implements FleetSnapshot {
  private readonly workers: IndexedWorker[] = [];
  private readonly positions = new Map<string, number>();
  private byModel = new Map<string, readonly WorkerView[]>();
  private byModelClass = new Map<string, readonly (readonly WorkerView[])[]>();
  private dirty = true;
  private readonly estimate: FleetIndexOptions['expectedServiceMs'];
  private readonly fairWait: FleetIndexOptions['fairWaitMs'];

  constructor(workers: readonly IndexedWorkerSpec[] = [], options: FleetIndexOptions = {}) {
    this.estimate = options.expectedServiceMs;
    this.fairWait = options.fairWaitMs;
    for (const worker of workers) this.upsert(worker);
  }

  /** Workers known, dead ones included. */
  get size(): number {
    return this.workers.length;
  }

  /** Position of a worker (stable for the index's life), or -1. */
  indexOf(id: string): number {
    return this.positions.get(id) ?? -1;
  }

  worker(position: number): WorkerView & { readonly state: WorkerLiveness; readonly models: readonly string[] } {
    const worker = this.workers[position];
    if (worker === undefined) throw new RangeError(`no worker at position ${position}`);
    return worker;
  }

  /** Adds a worker (live) or updates its class, slots, models and price; returns its position. */
  upsert(spec: IndexedWorkerSpec): number {
    const known = this.positions.get(spec.id);
    if (known !== undefined) {
      const worker = this.workers[known] as IndexedWorker;
      worker.class = spec.class;
      worker.slots = spec.slots;
      worker.models = spec.models;
      worker.costPerHour = spec.costPerHour;
      worker.maxBatch = spec.maxBatch;
      this.dirty = true;
      return known;
    }
    this.workers.push(new IndexedWorker(spec.id, spec));
    this.positions.set(spec.id, this.workers.length - 1);
    this.dirty = true;
    return this.workers.length - 1;
  }

  setState(position: number, state: WorkerLiveness): void {
    const worker = this.workers[position];
    if (worker === undefined || worker.state === state) return;
    worker.state = state;
    this.dirty = true;
  }

  /** Own dispatch, counted at once so the next decision sees it before the next refresh. */
  dispatched(position: number, workMs = 0): void {
    const worker = this.workers[position] as IndexedWorker;
    worker.depth++;
    worker.queuedWorkMs += workMs;
  }

  /** The completion signal of a job this view counted with `dispatched`. */
  completed(position: number, workMs = 0): void {
    const worker = this.workers[position] as IndexedWorker;
    worker.depth = Math.max(0, worker.depth - 1);
    worker.queuedWorkMs = worker.depth === 0 ? 0 : Math.max(0, worker.queuedWorkMs - workMs);
  }

  /** Replaces the counted load with an authoritative read. */
  refresh(position: number, load: WorkerLoad): void {
    const worker = this.workers[position] as IndexedWorker;
    worker.depth = load.depth;
    worker.queuedWorkMs = load.queuedWorkMs ?? 0;
    if (load.serviceMs !== undefined) worker.serviceMs = load.serviceMs;
  }

  find(workerId: string): WorkerView | undefined {
    return this.workers[this.positions.get(workerId) ?? -1];
  }

  eligible(model: string): readonly WorkerView[] {
    if (this.dirty) this.rebuild();
    return this.byModel.get(model) ?? EMPTY;
  }

  serves(worker: WorkerView, model: string): boolean {
    const known = this.workers[this.positions.get(worker.id) ?? -1];
    return known !== undefined && known.state === 'live' && known.models.includes(model);
  }

  eligibleByClass(model: string): readonly (readonly WorkerView[])[] {
    if (this.dirty) this.rebuild();
    return this.byModelClass.get(model) ?? [];
  }

  fairWaitMs(job: RoutableJob, worker: WorkerView): number | undefined {
    return this.fairWait?.(job, worker);
  }

  expectedServiceMs(job: RoutableJob, cls: string): number {
    if (this.estimate !== undefined) return this.estimate(job.model, cls, job.size);
    // Without a latency model, the mean of the observed times of that class stands in.
    let sum = 0;
    let count = 0;
    for (const worker of this.eligible(job.model)) {
      const observed = worker.class === cls ? ownEntry(worker.serviceMs, job.model) : undefined;
      if (observed !== undefined) {
        sum += observed;
        count++;
      }
    }
    return count === 0 ? 1 : sum / count;
  }

  private rebuild(): void {
    const byModel = new Map<string, WorkerView[]>();
    const byModelClass = new Map<string, Map<string, WorkerView[]>>();
    for (const worker of this.workers) {
      if (worker.state !== 'live') continue;
      for (const model of worker.models) {
        let list = byModel.get(model);
        if (list === undefined) byModel.set(model, (list = []));
        list.push(worker);
        let classes = byModelClass.get(model);
        if (classes === undefined) byModelClass.set(model, (classes = new Map<string, WorkerView[]>()));
        let group = classes.get(worker.class);
        if (group === undefined) classes.set(worker.class, (group = []));
        group.push(worker);
      }
    }
    this.byModel = byModel;
    this.byModelClass = new Map([...byModelClass].map(([model, classes]) => [model, [...classes.values()]]));
    this.dirty = false;
  }
}
