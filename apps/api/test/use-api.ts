import type { Catalog } from '@sched/core';
import { useTestCluster, type TestCluster, type UseTestClusterOptions } from '@sched/testkit/fixtures';
import { createApi, type Api } from '../src/index.js';

/** The API alone (no dispatcher, no workers) on the shared fixture's redis-server. */
export interface ApiUnderTest {
  readonly api: Api;
  readonly apiUrl: string;
  close(): Promise<void>;
}

/** One API process for the tests of a file: started before them on its own redis-server, stopped after. */
export function useApi(catalog: Catalog, options: UseTestClusterOptions = {}): TestCluster<ApiUnderTest> {
  return useTestCluster(async (config) => {
    const api = await createApi(config, { fleet: catalog });
    return { api, apiUrl: `http://127.0.0.1:${await api.listen()}`, close: () => api.close() };
  }, options);
}
