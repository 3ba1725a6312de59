import { describe, expect, it } from 'vitest';
import { commandsPerJob, cpuMsPerJob, meanCommandsPerJob, pairedRatios, ratioOf, serviceMs, spreadOf } from '../bench-math.js';

describe('spreadOf', () => {
  it('gives mean, min, max and count', () => {
    expect(spreadOf([3, 1, 2])).toEqual({ mean: 2, min: 1, max: 3, n: 3 });
  });
  it('is NaN for no values', () => {
    expect(spreadOf([]).mean).toBeNaN();
  });
});

describe('ratioOf and pairedRatios', () => {
  it('divides, and is NaN when nothing was measured below the line', () => {
    expect(ratioOf(150, 6000)).toBeCloseTo(0.025, 10);
    expect(ratioOf(5, 0)).toBeNaN();
    expect(ratioOf(Number.NaN, 2)).toBeNaN();
  });
  it('pairs round by round', () => {
    expect(pairedRatios([100, 300], [1000, 2000])).toEqual([0.1, 0.15]);
    expect(() => pairedRatios([1], [1, 2])).toThrow(RangeError);
  });
});

describe('cpuMsPerJob', () => {
  it('turns CPU seconds over jobs into ms per job', () => {
    expect(cpuMsPerJob(1.5, 1000)).toBeCloseTo(1.5, 10);
    expect(cpuMsPerJob(1, 0)).toBeNaN();
  });
});

describe('commandsPerJob', () => {
  it('divides each command and the total by the jobs, most per job first, ties by name', () => {
    const perJob = commandsPerJob({ zadd: 910, hmget: 940, xadd: 890, del: 640, exists: 640 }, 100);
    expect(perJob.total).toBeCloseTo(40.2, 10);
    expect(perJob.byCommand.map(([name]) => name)).toEqual(['hmget', 'zadd', 'xadd', 'del', 'exists']);
    expect(perJob.byCommand[0]?.[1]).toBeCloseTo(9.4, 10);
  });
  it('averages windows command by command, a missing command counting 0', () => {
    const mean = meanCommandsPerJob([commandsPerJob({ get: 10, set: 4 }, 2), commandsPerJob({ get: 6 }, 2)]);
    expect(mean.total).toBeCloseTo(5, 10);
    expect(mean.byCommand).toEqual([
      ['get', 4],
      ['set', 1],
    ]);
  });
});

describe('serviceMs', () => {
  it('is finishedAt − startedAt of the job view', () => {
    expect(serviceMs({ startedAt: '2026-01-01T00:00:00.010Z', finishedAt: '2026-01-01T00:00:00.061Z' })).toBe(51);
  });
  it('is undefined without both times', () => {
    expect(serviceMs({ startedAt: '2026-01-01T00:00:00.010Z' })).toBeUndefined();
    expect(serviceMs({ startedAt: 'nonsense', finishedAt: '2026-01-01T00:00:00.061Z' })).toBeUndefined();
  });
});
