import { describe, expect, it } from 'vitest';
import type { JobView } from '@sched/core';
import type { ExecutionRecord } from '@sched/worker';
import { formatChaosReport } from '../chaos-report-format.js';
import { buildChaosReport, chaosPassed, emptyTenantTally, recoveryOf, type ChaosInputs, type HostKill } from '../chaos-report.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (ms: number): string => new Date(T0 + ms).toISOString();

function view(id: string, status: JobView['status'], options: { worker?: string; startedMs?: number; finishedMs?: number; totalMs?: number; code?: string } = {}): JobView {
  return {
    id,
    status,
    model: 'default',
    priority: 'normal',
    attempts: 1,
    ...(options.worker === undefined ? {} : { worker: { id: options.worker, class: 'gpu' } }),
    ...(options.code === undefined ? {} : { error: { code: options.code, message: options.code } }),
    timings: {
      createdAt: iso(0),
      ...(options.startedMs === undefined ? {} : { startedAt: iso(options.startedMs) }),
      ...(options.finishedMs === undefined ? {} : { finishedAt: iso(options.finishedMs) }),
      ...(options.totalMs === undefined ? {} : { totalMs: options.totalMs }),
    },
  } as JobView;
}

const run = (jobId: string, atMs: number, pid: number, attempt = 1): ExecutionRecord => ({ at: T0 + atMs, jobId, attempt, workerId: 'gpu-0', pid });

function kill(overrides: Partial<HostKill> = {}): HostKill {
  return { host: 'host-0', pid: 10, workerIds: ['gpu-0'], killedAt: T0 + 1000, restartedAt: T0 + 8000, stranded: new Set(), ...overrides };
}

function inputs(overrides: Partial<ChaosInputs>): ChaosInputs {
  return { accepted: [], views: new Map(), executions: [], kills: [], tenants: [], unexpectedExits: [], redisState: new Map(), ...overrides };
}

const accepted = (...ids: string[]) => ids.map((id) => ({ id, tenant: 'tenant-0', tries: [{ at: T0, outcome: '202' }] }));

describe('the chaos accounting', () => {
  it('counts every accepted job once: completed, failed by reason, cancelled, lost (404 after the drain) and stuck (not terminal)', () => {
    const views = new Map([
      ['a', view('a', 'completed', { totalMs: 100 })],
      ['b', view('b', 'failed', { code: 'worker_lost' })],
      ['c', view('c', 'failed', { code: 'no_worker' })],
      ['d', view('d', 'cancelled')],
      ['e', view('e', 'running')],
    ]);
    const report = buildChaosReport(inputs({ accepted: accepted('a', 'b', 'c', 'd', 'e', 'f', 'a'), views, executions: [run('a', 10, 1)] }));
    expect(report).toMatchObject({ accepted: 6, completed: 1, cancelled: 1, failedByReason: { worker_lost: 1, no_worker: 1 }, lost: ['f'], stuck: ['e'] });
    expect(chaosPassed(report)).toBe(false);
    expect(chaosPassed({ lost: [], stuck: [] })).toBe(true);
  });

  it('counts executions per job and calls a second run explained only when the first run’s host was killed while it ran', () => {
    const views = new Map(['once', 'killed', 'stalled'].map((id) => [id, view(id, 'completed', { totalMs: 50 })] as const));
    const executions = [
      run('once', 100, 10),
      // Started on pid 10, which was killed at 1,000 ms; run again on its restart.
      run('killed', 500, 10),
      run('killed', 9000, 11, 2),
      // Run twice on pid 12, never killed: a re-run nothing explains.
      run('stalled', 500, 12),
      run('stalled', 6000, 12, 2),
    ];
    const report = buildChaosReport(inputs({ accepted: accepted('once', 'killed', 'stalled'), views, executions, kills: [kill()] }));
    expect(report.executionsPerJob).toEqual({ 1: 1, 2: 2 });
    expect(report.unexplainedDuplicates).toEqual(['stalled']);
    expect(report.duplicateSamples).toEqual([[run('stalled', 500, 12), run('stalled', 6000, 12, 2)]]);
  });

  it('flags a completed job with no execution in the log', () => {
    const report = buildChaosReport(inputs({ accepted: accepted('a'), views: new Map([['a', view('a', 'completed', { totalMs: 5 })]]) }));
    expect(report.completedWithoutExecution).toEqual(['a']);
    expect(report.executionsPerJob).toEqual({ 0: 1 });
  });

  it('takes p99 over the completed jobs’ submit-to-finish times', () => {
    const ids = Array.from({ length: 100 }, (_, i) => `j${i}`);
    const views = new Map(ids.map((id, i) => [id, view(id, 'completed', { totalMs: i + 1 })] as const));
    const report = buildChaosReport(inputs({ accepted: accepted(...ids), views, executions: ids.map((id) => run(id, 0, 1)) }));
    expect(report.latency.p99Ms).toBeGreaterThanOrEqual(99);
    expect(report.latency.maxMs).toBe(100);
  });
});

describe('recovery after a worker-host kill', () => {
  it('lasts until the last stranded job ended and the restarted host completed a job, whichever is later', () => {
    const views = new Map([
      ['s1', view('s1', 'completed', { worker: 'gpu-1', finishedMs: 7000 })],
      ['s2', view('s2', 'completed', { worker: 'gpu-0', startedMs: 8500, finishedMs: 9000 })],
      // Ran on gpu-0 before the kill: not a completion of the restarted host.
      ['old', view('old', 'completed', { worker: 'gpu-0', startedMs: 500, finishedMs: 600 })],
      ['new', view('new', 'completed', { worker: 'gpu-0', startedMs: 8100, finishedMs: 8200 })],
    ]);
    const recovery = recoveryOf(kill({ stranded: new Set(['s1', 's2']) }), views);
    expect(recovery).toMatchObject({ stranded: 2, unfinished: 0, lastStrandedMs: 8000, firstCompletionMs: 7200, ms: 8000 });
  });

  it('is not recovered while a stranded job has not ended, and is unmeasured when nothing was stranded and nothing ran after the restart', () => {
    const unfinished = recoveryOf(kill({ stranded: new Set(['s1', 'gone']) }), new Map([['s1', view('s1', 'running')]]));
    expect(unfinished).toMatchObject({ unfinished: 2, ms: undefined });
    expect(recoveryOf(kill({ restartedAt: undefined }), new Map()).ms).toBeUndefined();
  });

  it('gives the longest recovery in the report', () => {
    const views = new Map([
      ['a', view('a', 'completed', { totalMs: 1, finishedMs: 4000 })],
      ['b', view('b', 'completed', { totalMs: 1, finishedMs: 20_000 })],
    ]);
    const kills = [kill({ stranded: new Set(['a']), restartedAt: undefined }), kill({ killedAt: T0 + 11_000, stranded: new Set(['b']), restartedAt: undefined })];
    expect(buildChaosReport(inputs({ accepted: accepted('a', 'b'), views, kills })).longestRecoveryMs).toBe(9000);
    // A stranded job the run never got a 202 for is left out.
    const unacknowledged = [kill({ stranded: new Set(['a', 'not-accepted']), restartedAt: undefined })];
    expect(buildChaosReport(inputs({ accepted: accepted('a'), views, kills: unacknowledged })).recoveries[0]).toMatchObject({ stranded: 1, unfinished: 0, ms: 3000 });
  });
});

describe('the chaos table', () => {
  it('shows lost and stuck, per-tenant 429s and 503s, findings and the verdict', () => {
    const tenant = { ...emptyTenantTally('tenant-0'), submissions: 3, accepted: 2, responses503: 4, responses429: 0 };
    const report = buildChaosReport(
      inputs({
        accepted: accepted('a', 'b'),
        views: new Map([['a', view('a', 'completed', { totalMs: 12 })]]),
        executions: [run('a', 1, 1)],
        tenants: [tenant],
        unexpectedExits: [{ process: 'dispatcher', at: T0 + 5000, code: 1, tail: 'ReplyError: OOM' }],
        redisState: new Map([['b', 'idempotency record yes, ingress job no']]),
      }),
    );
    const text = formatChaosReport(report, 'Chaos run', T0);
    expect(text).toContain('| **lost** (accepted, unknown to the API after the drain) | **1** (e.g. b) |');
    expect(text).toContain('| tenant-0: 429s / 503s / other 5xx answers | 0 / 4 / 0 |');
    expect(text).toContain('FINDING: dispatcher exited by itself at +5.0 s (1)');
    expect(text).toContain('lost b: submitted +0.0 s 202; Redis after the drain: idempotency record yes, ingress job no');
    expect(text).toContain('lost or stuck, 1 jobs: Redis after the drain holds idempotency record yes, ingress job no');
    expect(text.trimEnd().endsWith('FAIL: 1 lost, 0 stuck')).toBe(true);
  });
});
