import type { Catalog } from '@sched/core';
import type { DispatcherMetrics } from '@sched/telemetry';
import type { FleetViewWorker } from './fleet-view.js';

export interface FleetGaugesOptions {
  readonly metrics: Pick<DispatcherMetrics, 'fleetWorkers' | 'backlog' | 'waiting' | 'heartbeatAge' | 'decisions'>;
  /** The policy's name, a label of the decisions counter. */
  readonly policy: string;
  readonly models: Catalog['models'];
}

const STATES = ['live', 'draining', 'down'] as const;

/**
 * The fleet gauges, rebuilt from the fleet view at each refresh: workers per class and state,
 * heartbeat age per worker, backlog per class (jobs queued beyond a worker's slots, plus the
 * jobs parked here that only that class can serve), and waiting jobs per class (the scaling
 * signal: jobs queued beyond a worker's slots, plus every ingress job of a model the class serves).
 */
export class FleetGauges {
  /** Every class of the catalog shows on the dashboard even with no worker in some state (0, not absent). */
  private readonly classes: readonly string[];
  private readonly classesServing: ReadonlyMap<string, readonly string[]>;
  private readonly seenWorkers = new Set<string>();

  constructor(private readonly options: FleetGaugesOptions) {
    const byModel = Object.entries(options.models);
    this.classes = [...new Set(byModel.flatMap(([, byClass]) => Object.keys(byClass)))];
    this.classesServing = new Map(byModel.map(([model, byClass]) => [model, Object.keys(byClass)]));
  }

  /**
   * `parkedModels`: the model of each job this dispatcher parked now; `ingressByModel`: the jobs in
   * the ingress queue by model, as every dispatcher reads them (`IngressWaiting`).
   */
  update(workers: Iterable<FleetViewWorker>, parkedModels: readonly string[], now: number, ingressByModel: ReadonlyMap<string, number>): void {
    const { metrics, policy } = this.options;
    metrics.fleetWorkers.reset();
    metrics.backlog.reset();
    metrics.waiting.reset();
    // A worker that left the fleet set must not keep its last heartbeat age forever.
    metrics.heartbeatAge.reset();
    for (const cls of this.classes) {
      metrics.backlog.set({ class: cls }, 0);
      metrics.waiting.set({ class: cls }, 0);
      for (const state of STATES) metrics.fleetWorkers.set({ class: cls, state }, 0);
    }
    for (const { view, state, heartbeatAt } of workers) {
      if (!this.seenWorkers.has(view.id)) {
        // Its decisions counter shows 0 from the start, not only after its first job.
        this.seenWorkers.add(view.id);
        metrics.decisions.inc({ policy, class: view.class, worker: view.id }, 0);
      }
      metrics.fleetWorkers.inc({ class: view.class, state: state === 'dead' ? 'down' : state });
      metrics.heartbeatAge.set({ worker: view.id }, Math.max(0, (now - heartbeatAt) / 1000));
      const queuedBeyondSlots = Math.max(0, view.depth - view.slots);
      metrics.backlog.inc({ class: view.class }, queuedBeyondSlots);
      metrics.waiting.inc({ class: view.class }, queuedBeyondSlots);
    }
    // An ingress job is bound to no worker yet: it is work for every class that serves its model
    // (parked jobs are in ingress too, so a class scaled to zero still sees the jobs it alone serves).
    for (const [model, count] of ingressByModel) {
      for (const cls of this.classesServing.get(model) ?? []) metrics.waiting.inc({ class: cls }, count);
    }
    // A parked job is backlog of the one class that can serve its model (DESIGN: "jobs waiting that
    // only that class can serve"); one that several classes could serve is nobody's in particular.
    for (const model of parkedModels) {
      const serving = this.classesServing.get(model) ?? [];
      if (serving.length === 1) metrics.backlog.inc({ class: serving[0] ?? '' });
    }
  }
}
