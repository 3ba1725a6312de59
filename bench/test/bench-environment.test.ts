import { describe, expect, it } from 'vitest';
import { cpuModelOf, describeEnvironment, redisVersionOf } from '../bench-environment.js';

describe('the environment line of a generated table', () => {
  it('reads the first model name of /proc/cpuinfo', () => {
    expect(cpuModelOf('processor\t: 0\nmodel name\t: AMD EPYC 7R13\nprocessor\t: 1\nmodel name\t: AMD EPYC 7R13\n')).toBe('AMD EPYC 7R13');
    expect(cpuModelOf('')).toBe('unknown');
  });

  it('reads the version of redis-server --version', () => {
    expect(redisVersionOf('Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=ae4d7c971a948f0\n')).toBe('7.0.15');
    expect(redisVersionOf('')).toBe('unknown');
  });

  it('states date, machine, versions and the command', () => {
    const line = describeEnvironment({ date: '2026-12-04T10:00:00Z', cores: 2, cpuModel: 'AMD EPYC', node: 'v20.20.2', redis: '7.0.15', bullmq: '6.7.0' }, 'npm run bench');
    expect(line).toBe('_2026-12-04T10:00:00Z; 2 cores (AMD EPYC); Node v20.20.2; redis-server 7.0.15; BullMQ 6.7.0. Made by `npm run bench`._');
  });
});
