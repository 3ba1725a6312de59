import { randomUUID } from 'node:crypto';
import { loadConfig, type Config } from '@sched/core';

/** The webhook signing secret every test cluster uses (receivers verify with it). */
export const TEST_WEBHOOK_SECRET = 'whsec_qxZyl0Oka510nYu2LG2UueSWra/Ms5LlmcUao99MnLM=';

/**
 * The environment of a test: its own key prefix, ports picked by the OS, quiet logs, fast
 * timers. For an app started as a process; {@link testConfig} is the same, parsed.
 */
export function testEnv(redisUrl: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    KEY_PREFIX: `t${randomUUID().slice(0, 8)}`,
    API_HOST: '127.0.0.1',
    API_PORT: '0',
    DISPATCHER_METRICS_PORT: '0',
    WORKER_METRICS_PORT: '0',
    HEARTBEAT_MS: '200',
    FLEET_REFRESH_MS: '200',
    PARK_RECHECK_MS: '200',
    RETRY_BACKOFF_MS: '20',
    LOG_LEVEL: 'silent',
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    ...overrides,
  };
}

/** A config for an in-process test ({@link testEnv}, validated and frozen). */
export function testConfig(redisUrl: string, overrides: Record<string, string> = {}): Config {
  return loadConfig(testEnv(redisUrl, overrides));
}
