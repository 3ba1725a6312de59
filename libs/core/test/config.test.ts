import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/index.js';

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration from the environment', () => {
  it('applies the documented defaults and freezes the result', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ API_PORT: 8080, DISPATCHER_METRICS_PORT: 9464, WORKER_METRICS_PORT: 9465, KEY_PREFIX: 'sched', SCHED_POLICY: 'sed', RESULT_TTL_S: 3600 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names the bad variable and what was expected, in one line', () => {
    expect(errorOf({ API_PORT: 'http' })).toBe('invalid environment variable API_PORT: expected a port number (0-65535)');
    expect(errorOf({ SCHED_POLICY: 'fastest' })).toMatch(/^invalid environment variable SCHED_POLICY: expected one of greedy-gpu, /);
    expect(errorOf({ REDIS_URL: 'localhost:6379' })).toBe('invalid environment variable REDIS_URL: expected a redis:// or rediss:// URL');
    expect(errorOf({ HEARTBEAT_MS: '-5' })).toBe('invalid environment variable HEARTBEAT_MS: expected a positive integer');
    expect(errorOf({ LATENCY_SLO_MS: 'fast' })).toMatch(/^invalid environment variable LATENCY_SLO_MS: expected milliseconds/);
  });

  it('parses WORKER_IDS and per-model latency targets', () => {
    const config = loadConfig({ WORKER_IDS: 'gpu-0, cpu-1', LATENCY_SLO_MS: 'default=200,llama-8b=3000,*=1000' });
    expect(config.WORKER_IDS).toEqual(['gpu-0', 'cpu-1']);
    expect(config.LATENCY_SLO_MS).toEqual({ defaultMs: 1000, byModel: { default: 200, 'llama-8b': 3000 } });
  });

  it('binds every server to loopback unless HOST (or API_HOST, METRICS_HOST) says otherwise', () => {
    expect(loadConfig({})).toMatchObject({ HOST: '127.0.0.1', API_HOST: '127.0.0.1', METRICS_HOST: '127.0.0.1' });
    expect(loadConfig({ HOST: '0.0.0.0' })).toMatchObject({ API_HOST: '0.0.0.0', METRICS_HOST: '0.0.0.0' });
    expect(loadConfig({ HOST: '0.0.0.0', METRICS_HOST: '10.0.0.5', API_HOST: '' })).toMatchObject({ API_HOST: '0.0.0.0', METRICS_HOST: '10.0.0.5' });
  });

  it('has no CORS origin by default and takes a list of origins', () => {
    expect(loadConfig({}).CORS_ORIGINS).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }).CORS_ORIGINS).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(errorOf({ CORS_ORIGINS: 'https://app.example.com/path' })).toMatch(/^invalid environment variable CORS_ORIGINS: expected comma-separated origins/);
  });

  it('refuses a headers timeout longer than the request timeout', () => {
    expect(loadConfig({})).toMatchObject({ HTTP_HEADERS_TIMEOUT_MS: 10_000, HTTP_REQUEST_TIMEOUT_MS: 30_000 });
    expect(errorOf({ HTTP_HEADERS_TIMEOUT_MS: '40000' })).toBe('invalid environment variable HTTP_HEADERS_TIMEOUT_MS: expected at most HTTP_REQUEST_TIMEOUT_MS (30000)');
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ API_PORT: '' }).API_PORT).toBe(8080);
  });
});
