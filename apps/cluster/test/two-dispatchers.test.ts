import { describe, expect, it } from 'vitest';
import { createApi } from '@sched/api';
import { parseCatalog, type Config, type JobView } from '@sched/core';
import { createDispatcher, type Dispatcher } from '@sched/dispatcher';
import type { SchedClient } from '@sched/client';
import { useTestCluster } from '@sched/testkit/fixtures';
import { createWorkerHost } from '@sched/worker';

// Two dispatchers against one fleet route as well as one: the same share of jobs on the fast
// class, and the same wait between a job's dispatch and its start (`sed-late`, which binds a job
// only when its view shows a free slot). When each dispatcher lowered a worker's count for the
// other's completions too, it sent the worker more than it could start and jobs queued behind its
// slots: here gpu share 0.63–0.66 → 0.84–0.88 and dispatch→start p99 51–73 → 593–668 ms.

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 100, p99Ms: 150 }, cpu: { p50Ms: 300, p99Ms: 450 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 2 },
    { id: 'gpu-1', class: 'gpu', slots: 2 },
    { id: 'cpu-0', class: 'cpu', slots: 2 },
    { id: 'cpu-1', class: 'cpu', slots: 2 },
    { id: 'cpu-2', class: 'cpu', slots: 2 },
  ],
});
/** Capacity: 40 gpu + 20 cpu jobs/s; the load is 70 % of it. */
const RATE_PER_S = 42;
const PHASE_S = 8;

const dispatchers: Dispatcher[] = [];
const ctx = useTestCluster(
  async (config) => {
    const workers = await createWorkerHost(config, { fleet, serveMetrics: false });
    const api = await createApi(config, { fleet });
    return {
      apiUrl: `http://127.0.0.1:${await api.listen()}`,
      close: async () => {
        await api.close();
        await Promise.all(dispatchers.map((d) => d.close()));
        await workers.close();
      },
    };
  },
  { env: { SCHED_POLICY: 'sed-late', FLEET_REFRESH_MS: '1000' } },
);

async function startDispatcher(config: Config): Promise<void> {
  dispatchers.push(await createDispatcher(config, { fleet, serveMetrics: false }));
}

/** Open-loop load at RATE_PER_S for PHASE_S, in batches every 100 ms; every job's final view. */
async function phase(client: SchedClient): Promise<JobView[]> {
  const ids: string[] = [];
  const perTick = RATE_PER_S / 10;
  const started = Date.now();
  for (let tick = 0; tick < PHASE_S * 10; tick++) {
    const count = Math.floor((tick + 1) * perTick) - Math.floor(tick * perTick);
    const batch = await client.submitBatch(Array.from({ length: count }, (_, i) => ({ model: 'default', input: tick * 10 + i })));
    for (const result of batch.results) if ('job' in result) ids.push(result.job.id);
    await new Promise((r) => setTimeout(r, Math.max(0, started + (tick + 1) * 100 - Date.now())));
  }
  const waited = await client.waitMany(ids, { timeoutS: 30 });
  return waited.jobs;
}

function summary(views: readonly JobView[]): { gpuShare: number; dispatchToStartP99: number } {
  const waits = views.map((v) => Date.parse(v.timings.startedAt ?? '') - Date.parse(v.timings.dispatchedAt ?? '')).sort((a, b) => a - b);
  const gpu = views.filter((v) => v.worker?.class === 'gpu').length;
  return { gpuShare: gpu / views.length, dispatchToStartP99: waits[Math.floor(0.99 * (waits.length - 1))] ?? NaN };
}


describe('two dispatchers', () => {
  it('route as well as one: the same gpu share and dispatch→start p99 within a bound of one dispatcher on the same run', async () => {
    const { client, config } = ctx;
    await startDispatcher(config);
    const one = await phase(client);
    await startDispatcher(config);
    const two = await phase(client);
    for (const views of [one, two]) expect(views.filter((v) => v.status !== 'completed')).toEqual([]);
    const a = summary(one);
    const b = summary(two);
    console.log(`one dispatcher: gpu share ${a.gpuShare.toFixed(3)}, dispatch→start p99 ${a.dispatchToStartP99} ms; two: ${b.gpuShare.toFixed(3)}, ${b.dispatchToStartP99} ms`);
    expect(Math.abs(b.gpuShare - a.gpuShare)).toBeLessThan(0.1);
    // Two dispatchers still add a known gap at p99 (about 270 ms here whatever one measures: see
    // docs/architecture.md, several dispatchers), so the bound is that plus room for this noisy 2-core
    // machine under the whole suite (one 24 ms / two 274 ms and one 70 ms / two 323 ms seen);
    // miscounting gave 8–10× (one 51–73 ms, two 593–668 ms).
    expect(b.dispatchToStartP99).toBeLessThan(3 * a.dispatchToStartP99 + 350);
  }, 90_000);
});
