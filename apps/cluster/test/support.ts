import { expect } from 'vitest';
import { createApi, type Api } from '@sched/api';
import { parseCatalog, seededRng, type Catalog, type Config, type JobView } from '@sched/core';
import { createDispatcher, type Dispatcher } from '@sched/dispatcher';
import { useTestCluster, type ClusterUnderTest, type TestCluster } from '@sched/testkit/fixtures';
import { createWorkerHost } from '@sched/worker';
import { startLocalCluster, type LocalCluster } from '../src/index.js';

/**
 * The local cluster (api + dispatcher + worker host in this process) on `fleet`, on its own
 * redis-server, for the tests of one file or `describe`. Read `ctx.cluster` and `ctx.client`
 * inside tests.
 */
export function useCluster(fleet: Catalog, env: Record<string, string> = {}): TestCluster<LocalCluster> {
  return useTestCluster((config) => startLocalCluster(config, { fleet }), { env });
}

/**
 * An API and a dispatcher with a worker host whose rng is seeded (`seed`), so which of a flaky
 * worker's runs fail is the same every time; for the tests of one file.
 */
export function useSeededCluster(fleet: Catalog, seed: number, env: Record<string, string> = {}): TestCluster<ClusterUnderTest> {
  return useTestCluster(
    async (config) => {
      const workers = await createWorkerHost(config, { fleet, rng: seededRng(seed), serveMetrics: false });
      const services = await startApiAndDispatcher(config, fleet);
      return {
        apiUrl: services.apiUrl,
        close: async () => {
          await services.close();
          await workers.close();
        },
      };
    },
    { env },
  );
}

export interface ApiAndDispatcher {
  readonly api: Api;
  readonly dispatcher: Dispatcher;
  readonly apiUrl: string;
  close(): Promise<void>;
}

/** An API and a dispatcher without a worker host: the test runs its workers itself (a process it kills, a host with a seeded rng). */
export async function startApiAndDispatcher(config: Config, fleet?: Catalog): Promise<ApiAndDispatcher> {
  const dispatcher = await createDispatcher(config, { fleet, serveMetrics: false });
  const api = await createApi(config, { fleet });
  return {
    api,
    dispatcher,
    apiUrl: `http://127.0.0.1:${await api.listen()}`,
    close: async () => {
      await api.close();
      await dispatcher.close();
    },
  };
}

/** A small fast fleet with prices: one gpu (2 slots) and one cpu, for the metrics tests. */
export const PRICED_FLEET = parseCatalog({
  models: { default: { gpu: { p50Ms: 5, p99Ms: 10 }, cpu: { p50Ms: 20, p99Ms: 40 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 2, costPerHour: 2 },
    { id: 'cpu-0', class: 'cpu', slots: 1, costPerHour: 0.2 },
  ],
});

// Raw-fetch helpers: for a test of the HTTP itself (a fractional `?wait=`), and for the tests
// that do not use the fixture's client yet (late-binding, cancel, deadlines). The others use
// `ctx.client` and `untilStatus` from the test kit.

export async function submitJob(baseUrl: string, body: unknown): Promise<string> {
  const res = await fetch(`${baseUrl}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

export async function readJob(baseUrl: string, id: string, waitS = 0): Promise<JobView> {
  const res = await fetch(`${baseUrl}/v1/jobs/${id}${waitS > 0 ? `?wait=${waitS}` : ''}`);
  expect(res.status).toBe(200);
  return (await res.json()) as JobView;
}

/** Polls until the job reaches `status` (or fails the test after `timeoutMs`). */
export async function until(baseUrl: string, id: string, status: JobView['status'], timeoutMs = 10_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await readJob(baseUrl, id);
    if (view.status === status) return view;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${view.status}, not ${status}, after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
