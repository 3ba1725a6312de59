import { afterAll, beforeAll } from 'vitest';
import type { Config } from '@sched/core';
import { RedisServer } from './redis-server.js';
import { testConfig } from './test-config.js';

export interface UseRedisOptions {
  /**
   * Keep an append-only file, for a test that restarts Redis and expects its data back.
   * @defaultValue false
   */
  appendOnly?: boolean;
}

/** The redis-server of one test file (or one `describe`), read inside its tests. */
export interface RedisFixture {
  /** The server itself: stop and restart it to test an outage. */
  readonly server: RedisServer;
  readonly url: string;
  /** A config on this server with its own key prefix ({@link testConfig}). */
  config(overrides?: Record<string, string>): Config;
}

/** Lets a getter explain itself when a test reads it outside the hooks' lifetime. */
export function started<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} exists only between beforeAll and afterAll`);
  return value;
}

/**
 * Starts a real redis-server on a free port before the tests of the enclosing file or
 * `describe`, and destroys it (process and data directory) after them.
 */
export function useRedis(options: UseRedisOptions = {}): RedisFixture {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: options.appendOnly ?? false });
  });
  afterAll(async () => {
    await server?.destroy();
    server = undefined;
  });
  return {
    get server(): RedisServer {
      return started(server, 'the redis-server');
    },
    get url(): string {
      return started(server, 'the redis-server').url;
    },
    config: (overrides = {}) => testConfig(started(server, 'the redis-server').url, overrides),
  };
}
