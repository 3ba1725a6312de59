import { parseCatalog } from '@sched/core';
import { createDispatcherMetrics, createRegistry } from '@sched/telemetry';
import { describe, expect, it } from 'vitest';
import { FleetGauges } from '../src/fleet-gauges.js';
import { fleetView } from './fleet-fixture.js';

// `m` runs on gpu or cpu; `tiny` only on a tpu.
const catalog = parseCatalog({
  models: { m: { gpu: { p50Ms: 100, p99Ms: 100 }, cpu: { p50Ms: 1000, p99Ms: 1000 } }, tiny: { tpu: { p50Ms: 10, p99Ms: 10 } } },
  workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }],
});

function setup() {
  const registry = createRegistry('dispatcher-test');
  const metrics = createDispatcherMetrics(registry);
  const gauges = new FleetGauges({ metrics, policy: 'sed', models: catalog.models });
  /** The gauge's series as `labels → value`, e.g. `class="gpu" → 2`. */
  const read = async (name: string): Promise<Record<string, number>> => {
    const text = await registry.getSingleMetricAsString(name);
    const series: Record<string, number> = {};
    for (const line of text.split('\n')) {
      const match = /^\w+\{([^}]*)\} (\S+)$/.exec(line);
      if (match) series[(match[1] ?? '').replace(/,?app="[^"]*"/, '')] = Number(match[2]);
    }
    return series;
  };
  return { gauges, read };
}

describe('FleetGauges', () => {
  it('shows every class of the catalog in every state, 0 when no worker is in it', async () => {
    const { gauges, read } = setup();
    gauges.update(fleetView([{ id: 'gpu-0', class: 'gpu' }]).workers(), [], 0, new Map());
    expect(await read('sched_fleet_workers')).toEqual({
      'class="gpu",state="live"': 1,
      'class="gpu",state="draining"': 0,
      'class="gpu",state="down"': 0,
      'class="cpu",state="live"': 0,
      'class="cpu",state="draining"': 0,
      'class="cpu",state="down"': 0,
      'class="tpu",state="live"': 0,
      'class="tpu",state="draining"': 0,
      'class="tpu",state="down"': 0,
    });
  });

  it('counts as backlog the jobs queued beyond a worker’s slots, and parked jobs of a model only one class serves', async () => {
    const { gauges, read } = setup();
    const fleet = fleetView([
      { id: 'gpu-0', class: 'gpu', slots: 2, waiting: 5 },
      { id: 'cpu-0', class: 'cpu', waiting: 1 },
    ]);
    gauges.update(fleet.workers(), ['tiny', 'tiny', 'm'], 0, new Map());
    // gpu: 5 − 2; cpu: 1 − 1; tpu: the two parked `tiny` jobs (the parked `m` job could go to either class: nobody's).
    expect(await read('sched_backlog_jobs')).toEqual({ 'class="gpu"': 3, 'class="cpu"': 0, 'class="tpu"': 2 });
  });

  it('counts as waiting the jobs queued beyond slots, and every ingress job for each class that serves its model', async () => {
    const { gauges, read } = setup();
    const fleet = fleetView([
      { id: 'gpu-0', class: 'gpu', slots: 2, waiting: 5 },
      { id: 'cpu-0', class: 'cpu', waiting: 1 },
    ]);
    gauges.update(fleet.workers(), ['tiny'], 0, new Map([['m', 4], ['tiny', 2]]));
    // gpu: 5 − 2 queued + 4 `m` in ingress; cpu: 1 − 1 + the same 4 `m`; tpu: the 2 `tiny` (one of them
    // parked here: ingress holds parked jobs, so it is not counted twice).
    expect(await read('sched_waiting_jobs')).toEqual({ 'class="gpu"': 7, 'class="cpu"': 4, 'class="tpu"': 2 });
    // The backlog still counts only what is routed to a class, or parked here and servable by one class alone.
    expect(await read('sched_backlog_jobs')).toEqual({ 'class="gpu"': 3, 'class="cpu"': 0, 'class="tpu"': 1 });
  });

  it('starts over at each update: a worker gone from the view keeps no heartbeat age, parked jobs gone leave no backlog', async () => {
    const { gauges, read } = setup();
    gauges.update(fleetView([{ id: 'gpu-0', class: 'gpu', heartbeatAt: 1000 }, { id: 'cpu-0', class: 'cpu', heartbeatAt: 500 }]).workers(), ['tiny'], 3000, new Map());
    expect(await read('sched_worker_heartbeat_age_seconds')).toEqual({ 'worker="gpu-0"': 2, 'worker="cpu-0"': 2.5 });
    gauges.update(fleetView([{ id: 'gpu-0', class: 'gpu', heartbeatAt: 3000 }]).workers(), [], 3000, new Map());
    expect(await read('sched_worker_heartbeat_age_seconds')).toEqual({ 'worker="gpu-0"': 0 });
    expect((await read('sched_backlog_jobs'))['class="tpu"']).toBe(0);
  });

  it('shows a decisions series of 0 for every worker it has seen, before its first decision', async () => {
    const { gauges, read } = setup();
    gauges.update(fleetView([{ id: 'gpu-0', class: 'gpu' }]).workers(), [], 0, new Map());
    expect(await read('sched_dispatch_decisions_total')).toEqual({ 'policy="sed",class="gpu",worker="gpu-0"': 0 });
  });
});
