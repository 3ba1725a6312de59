import { bundledFleetPath, loadCatalog, parseCatalog, POLICY_NAMES, seededRng } from '@sched/core';
import { describe, expect, it } from 'vitest';
import { parseDeadlineMix, parsePriorityMix, simulate, type SimPolicyName, type SimScenario } from '../src/index.js';

const heterogeneous = loadCatalog(bundledFleetPath('heterogeneous'));
const fleetDefault = loadCatalog(bundledFleetPath('default'));

/** Poisson arrivals of model `default`, generated here so the expected values below depend on nothing else. */
function poissonTrace(ratePerS: number, jobs: number, seed: number): SimScenario['arrivals'] {
  const rng = seededRng(seed);
  let t = 0;
  return { kind: 'trace', speed: 1, arrivals: Array.from({ length: jobs }, () => ({ t: (t += -Math.log(1 - rng()) * (1000 / ratePerS)), model: 'default' })) };
}

describe('simulate: one dispatch loop with the live dispatcher', () => {
  it('with every job normal and no deadline, gives exactly what the simulator gave before it shared the loop (seed 1)', () => {
    // Recorded from the simulator before HeldJobs / DispatchLoop (its own FIFO window and backlog).
    const before: [string, SimScenario, { p50Ms: number; p99Ms: number; meanMs: number; durationMs: number }][] = [
      ['heterogeneous sed-late 50/s, lag 5', { fleet: heterogeneous, policy: 'sed-late', seed: 1, arrivals: poissonTrace(50, 20_000, 7), completionLagMs: 5 }, { p50Ms: 246.78968365574838, p99Ms: 678.4385865301592, meanMs: 283.57494075353407, durationMs: 394068.62130982237 }],
      ['heterogeneous sed-late 30/s', { fleet: heterogeneous, policy: 'sed-late', seed: 1, arrivals: poissonTrace(30, 20_000, 7) }, { p50Ms: 72.28989638203348, p99Ms: 198.47269108961336, meanMs: 84.22768891872745, durationMs: 655988.9571834828 }],
      ['heterogeneous sed 50/s', { fleet: heterogeneous, policy: 'sed', seed: 1, arrivals: poissonTrace(50, 20_000, 7) }, { p50Ms: 400, p99Ms: 780.9750207237666, meanMs: 419.0032758668866, durationMs: 394173.5099274685 }],
      ['heterogeneous shared-queue 50/s', { fleet: heterogeneous, policy: 'shared-queue', seed: 1, arrivals: poissonTrace(50, 20_000, 7) }, { p50Ms: 170.59949202094867, p99Ms: 717.9220091188909, meanMs: 241.69523485493968, durationMs: 394049.567880141 }],
      ['default sed-late 170/s, lag 5', { fleet: fleetDefault, policy: 'sed-late', seed: 1, arrivals: poissonTrace(170, 20_000, 7), completionLagMs: 5 }, { p50Ms: 72.30308670527302, p99Ms: 273.7323946186516, meanMs: 92.01335761181724, durationMs: 115951.12875120994 }],
    ];
    for (const [name, scenario, expected] of before) {
      const result = simulate(scenario);
      expect({ name, p50Ms: result.p50Ms, p99Ms: result.p99Ms, meanMs: result.meanMs, durationMs: result.durationMs }).toEqual({ name, ...expected });
      expect(result.jobs).toBe(20_000);
      expect(result.deadlineMisses).toBe(0);
    }
  });

  it('a priority mix of normal only changes nothing', () => {
    for (const policy of ['sed', 'sed-late'] as const) {
      const scenario: SimScenario = { fleet: heterogeneous, policy, seed: 3, arrivals: poissonTrace(45, 10_000, 3) };
      expect(simulate({ ...scenario, priorityMix: parsePriorityMix('normal=1') })).toEqual(simulate(scenario));
    }
  });

  it('gives the same output for the same seed with priorities and deadlines, and another for another seed', () => {
    const run = (seed: number) =>
      simulate({
        fleet: heterogeneous,
        policy: 'sed-late',
        seed,
        arrivals: poissonTrace(45, 10_000, 1),
        priorityMix: parsePriorityMix('high=0.1,normal=0.8,low=0.1'),
        deadlines: parseDeadlineMix('500=0.2'),
      });
    expect(run(5)).toEqual(run(5));
    expect(run(5).byPriority).not.toEqual(run(6).byPriority);
  });

  it('under load, high-priority jobs have a lower p99 than low-priority ones (sed-late holds them in front, worker queues serve them first)', () => {
    for (const policy of ['sed-late', 'sed'] as const) {
      const result = simulate({
        fleet: heterogeneous,
        policy,
        seed: 1,
        arrivals: poissonTrace(48, 30_000, 2),
        priorityMix: parsePriorityMix('high=0.1,normal=0.8,low=0.1'),
      });
      const { high, normal, low } = result.byPriority;
      expect(high?.jobs).toBeGreaterThan(2500);
      expect(low?.jobs).toBeGreaterThan(2500);
      expect((high?.jobs ?? 0) + (normal?.jobs ?? 0) + (low?.jobs ?? 0)).toBe(30_000);
      expect(high?.p99Ms).toBeLessThan((low?.p99Ms ?? 0) / 2);
      expect(high?.p99Ms).toBeLessThan(normal?.p99Ms ?? 0);
    }
  });
});

describe('simulate: deadlines', () => {
  // Constant service times (p50 = p99): a job that starts by its latest start finishes in time.
  const twoClasses = parseCatalog({
    models: { default: { gpu: { p50Ms: 100, p99Ms: 100 }, cpu: { p50Ms: 1000, p99Ms: 1000 } } },
    workers: [
      { id: 'gpu-0', class: 'gpu', slots: 1 },
      { id: 'cpu-0', class: 'cpu', slots: 1 },
    ],
  });
  const dispatching = POLICY_NAMES.map((p): SimPolicyName => p);

  it('never binds a deadline job to a worker that would miss it while another can make it, whatever the policy', () => {
    // A job on the gpu, then one that must finish within 600 ms: the idle cpu takes 1000 ms, waiting for the gpu ~200.
    const arrivals: SimScenario['arrivals'] = { kind: 'trace', speed: 1, arrivals: [{ t: 0, model: 'default' }, { t: 1, model: 'default' }] };
    for (const policy of dispatching) {
      const result = simulate({ fleet: twoClasses, policy, seed: 1, arrivals, deadlines: parseDeadlineMix('600'), refreshMs: 10_000 });
      expect({ policy, misses: result.deadlineMisses, jobs: result.jobs, onGpu: result.sharePerWorker['gpu-0'] }).toEqual({ policy, misses: 0, jobs: 2, onGpu: 1 });
      expect(result.maxMs).toBeLessThanOrEqual(600);
    }
  });

  it('runs no job past its deadline: one that cannot start in time fails deadline_exceeded instead (held, queued or at pickup)', () => {
    for (const policy of [...dispatching, 'sed-late'] as const) {
      const result = simulate({ fleet: twoClasses, policy, seed: 1, arrivals: poissonTrace(9, 5000, 4), deadlines: parseDeadlineMix('400') });
      expect(result.deadlineJobs).toBe(5000);
      expect(result.jobs + result.deadlineMisses + result.unroutable).toBe(5000);
      expect(result.maxMs).toBeLessThanOrEqual(400 + 1e-9);
      expect(result.deadlineMisses).toBeGreaterThan(0);
    }
  });

  it('fails at once a job whose deadline is shorter than any worker’s service time', () => {
    const result = simulate({ fleet: twoClasses, policy: 'sed', seed: 1, arrivals: poissonTrace(1, 100, 1), deadlines: parseDeadlineMix('50') });
    expect(result.deadlineMisses).toBe(100);
    expect(result.jobs).toBe(0);
  });

  it('counts misses per priority and only among the jobs that carried a deadline', () => {
    const result = simulate({
      fleet: heterogeneous,
      policy: 'sed-late',
      seed: 1,
      arrivals: poissonTrace(52, 20_000, 5),
      priorityMix: parsePriorityMix('high=1,low=1'),
      deadlines: parseDeadlineMix('300=0.5'),
    });
    const { high, low } = result.byPriority;
    expect(result.deadlineJobs).toBeGreaterThan(9000);
    expect(result.deadlineJobs).toBeLessThan(11_000);
    expect((high?.deadlineMisses ?? 0) + (low?.deadlineMisses ?? 0)).toBe(result.deadlineMisses);
    expect(low?.deadlineMisses).toBeGreaterThan(high?.deadlineMisses ?? 0);
    expect(result.jobs + result.deadlineMisses).toBe(20_000);
  });
});

describe('simulate: a held-job cap (maxHeld), as live', () => {
  it('binds the overflow at once and still completes every job once', () => {
    const arrivals = poissonTrace(52, 20_000, 6);
    const capped = simulate({ fleet: heterogeneous, policy: 'sed-late', seed: 1, arrivals, maxHeld: 4 });
    const unbounded = simulate({ fleet: heterogeneous, policy: 'sed-late', seed: 1, arrivals });
    expect(capped.jobs).toBe(20_000);
    expect(Object.values(capped.sharePerWorker).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(capped.p99Ms).not.toBe(unbounded.p99Ms);
  });
});
