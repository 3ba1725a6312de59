import { describe, expect, it } from 'vitest';
import { commandsPerJob } from '../bench-math.js';
import { summariseThroughput, type ThroughputWindow } from '../throughput-summary.js';

function window(round: number, subject: ThroughputWindow['subject'], jobsPerS: number, cpu: Record<string, number>): ThroughputWindow {
  return { round, subject, jobs: jobsPerS * 10, seconds: 10, jobsPerS, cpuMsPerJob: cpu, commands: commandsPerJob({ evalsha: jobsPerS * 10 }, jobsPerS * 10), errors: subject === 'poll' ? { wait_timeout: round } : {} };
}

describe('summariseThroughput', () => {
  const windows = [
    window(1, 'poll', 400, { api: 1.5, 'redis-server': 0.7, 'load client': 0.9 }),
    window(1, 'raw', 8000, { producer: 0.1, Worker: 0.1, 'redis-server': 0.1 }),
    window(2, 'raw', 5000, { producer: 0.1, Worker: 0.1, 'redis-server': 0.1 }),
    window(2, 'poll', 500, { api: 1.3, 'redis-server': 0.5, 'load client': 0.7 }),
  ];
  const [poll, raw] = summariseThroughput(windows);

  it('pairs each window with raw BullMQ of the same round', () => {
    expect(poll?.ratioToRaw.min).toBeCloseTo(0.05, 10);
    expect(poll?.ratioToRaw.max).toBeCloseTo(0.1, 10);
    expect(poll?.ratioToRaw.mean).toBeCloseTo(0.075, 10);
    expect(raw?.ratioToRaw.mean).toBe(1);
  });

  it('averages jobs/s and CPU per process over the rounds, the total leaving the load client out', () => {
    expect(poll?.jobsPerS).toEqual({ mean: 450, min: 400, max: 500, n: 2 });
    expect(poll?.cpuMsPerJob.api).toBeCloseTo(1.4, 10);
    expect(poll?.cpuMsPerJobTotal).toBeCloseTo(1.4 + 0.6, 10);
    expect(raw?.cpuMsPerJobTotal).toBeCloseTo(0.3, 10);
  });

  it('keeps Redis commands per job and sums the errors', () => {
    expect(poll?.commands.total).toBe(1);
    expect(poll?.errors).toBe(3);
    expect(raw?.errors).toBe(0);
  });
});
