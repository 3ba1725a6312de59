import { parseCatalog, type Catalog, type WorkerDescriptor } from '@sched/core';
import type { WorkerQueueState } from '@sched/runtime';
import { FleetView } from '../src/fleet-view.js';

/** A gpu (100 ms) and a cpu (1 s) serving model `m`; model `tiny` only on a tpu class no worker has. */
export const CATALOG: Catalog = parseCatalog({
  models: { m: { gpu: { p50Ms: 100, p99Ms: 100 }, cpu: { p50Ms: 1000, p99Ms: 1000 } }, tiny: { tpu: { p50Ms: 10, p99Ms: 10 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 1 },
    { id: 'cpu-0', class: 'cpu', slots: 1 },
  ],
});

export interface WorkerSpec {
  readonly id: string;
  readonly class: string;
  readonly models?: readonly string[];
  readonly slots?: number;
  readonly state?: 'live' | 'draining' | 'dead';
  /** Jobs waiting in its queue. */
  readonly waiting?: number;
  readonly heartbeatAt?: number;
}

/** What a fleet read returns for these workers. */
export function fleetState(workers: readonly WorkerSpec[]): WorkerQueueState[] {
  return workers.map((w) => {
    const descriptor: WorkerDescriptor | null =
      w.state === 'dead'
        ? null
        : {
            id: w.id,
            class: w.class,
            models: [...(w.models ?? ['m'])],
            slots: w.slots ?? 1,
            state: w.state ?? 'live',
            host: 'test',
            pid: 1,
            startedAt: 0,
            heartbeatAt: w.heartbeatAt ?? 0,
            serviceMs: {},
            batchSize: 1,
            maxBatch: 1,
            busy: 0,
            costPerHour: 0,
          };
    return { id: w.id, descriptor, lastSeenAt: w.heartbeatAt ?? 0, waiting: w.waiting ?? 0, active: 0, activeIds: [], delayed: 0 };
  });
}

/** A fleet view that has read these workers, with the catalog's service times. */
export function fleetView(workers: readonly WorkerSpec[] = [{ id: 'gpu-0', class: 'gpu' }, { id: 'cpu-0', class: 'cpu' }]): FleetView {
  const fleet = new FleetView({ expectedServiceMs: (model, cls) => CATALOG.models[model]?.[cls]?.p50Ms ?? 1 }, () => 1);
  fleet.apply(fleetState(workers), 0, fleet.markReadIssued());
  return fleet;
}
