import { afterAll, beforeAll } from 'vitest';
import { createClient, type ClientOptions, type SchedClient } from '@sched/client';
import type { Config } from '@sched/core';
import type { RedisServer } from './redis-server.js';
import { started, useRedis } from './use-redis.js';

/** What a test cluster must offer: the base URL of its API and a way to stop all of it. */
export interface ClusterUnderTest {
  readonly apiUrl: string;
  close(): Promise<void>;
}

export interface UseTestClusterOptions {
  /**
   * Variables on top of {@link testConfig}'s (fast timers, ports picked by the OS, quiet logs).
   * @defaultValue none
   */
  env?: Record<string, string>;
  /**
   * Keep Redis's append-only file, for a test that restarts Redis and expects its data back.
   * @defaultValue false
   */
  appendOnly?: boolean;
  /**
   * Options of the fixture's client, but for `baseUrl` (the cluster's API).
   * @defaultValue the client's defaults
   */
  client?: Omit<ClientOptions, 'baseUrl'>;
}

/** A test cluster for the tests of one file (or one `describe`), read inside its tests. */
export interface TestCluster<C extends ClusterUnderTest> {
  /** What `start` returned. */
  readonly cluster: C;
  /** The config `start` was given. */
  readonly config: Config;
  readonly redis: RedisServer;
  readonly redisUrl: string;
  /** A `@sched/client` for the cluster's API. */
  readonly client: SchedClient;
}

/**
 * The one integration fixture: before the tests, a real redis-server on a free port, a test
 * config on it with its own key prefix, whatever `start` builds from that config (the local
 * cluster, or an API and a dispatcher alone), and a client for its API; after them, all of it
 * stopped in reverse order. The test kit sits below the apps (`npm start` uses its redis-server
 * launcher), so the caller passes the starter rather than the kit importing the apps.
 */
export function useTestCluster<C extends ClusterUnderTest>(start: (config: Config) => Promise<C>, options: UseTestClusterOptions = {}): TestCluster<C> {
  const redis = useRedis({ appendOnly: options.appendOnly ?? false });
  let config: Config | undefined;
  let cluster: C | undefined;
  let client: SchedClient | undefined;
  beforeAll(async () => {
    config = redis.config(options.env);
    cluster = await start(config);
    client = createClient({ ...options.client, baseUrl: cluster.apiUrl });
  });
  afterAll(async () => {
    await client?.close();
    await cluster?.close();
    client = undefined;
    cluster = undefined;
  });
  return {
    get cluster(): C {
      return started(cluster, 'the test cluster');
    },
    get config(): Config {
      return started(config, "the test cluster's config");
    },
    get redis(): RedisServer {
      return redis.server;
    },
    get redisUrl(): string {
      return redis.url;
    },
    get client(): SchedClient {
      return started(client, "the test cluster's client");
    },
  };
}
