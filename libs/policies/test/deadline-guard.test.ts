import { seededRng } from '@sched/core';
import { describe, expect, it } from 'vitest';
import { FleetIndex, withDeadlineGuard, type Policy, type RoutableJob } from '../src/index.js';

const SERVICE_MS: Record<string, number> = { gpu: 100, cpu: 1000 };

/** A gpu with one 100 ms job queued (expected delay 200 ms) and an idle cpu (1000 ms). */
function fleet(): FleetIndex {
  const index = new FleetIndex(
    [
      { id: 'gpu-0', class: 'gpu', slots: 1, models: ['m'] },
      { id: 'cpu-0', class: 'cpu', slots: 1, models: ['m'] },
    ],
    { expectedServiceMs: (_model, cls) => SERVICE_MS[cls] ?? 1 },
  );
  index.refresh(index.indexOf('gpu-0'), { depth: 1, queuedWorkMs: 100 });
  return index;
}

const alwaysCpu: Policy = () => 'cpu-0';
const job = (deadlineMs?: number): RoutableJob => ({ model: 'm', priority: 'normal', createdAt: 0, ...(deadlineMs === undefined ? {} : { deadlineMs }) });

describe('withDeadlineGuard', () => {
  it("keeps the policy's choice when it meets the deadline", () => {
    expect(withDeadlineGuard(alwaysCpu, () => 0)(job(1500), fleet(), seededRng(1))).toBe('cpu-0');
  });

  it('moves a job off a worker that would miss its deadline to one that makes it', () => {
    expect(withDeadlineGuard(alwaysCpu, () => 0)(job(600), fleet(), seededRng(1))).toBe('gpu-0');
  });

  it("keeps the policy's choice when no worker can make the deadline", () => {
    expect(withDeadlineGuard(alwaysCpu, () => 0)(job(150), fleet(), seededRng(1))).toBe('cpu-0');
  });

  it('counts the deadline from submission, on the clock it is given', () => {
    // 600 ms from t=0, asked at t=450: 150 ms left, and the gpu needs 200.
    expect(withDeadlineGuard(alwaysCpu, () => 450)(job(600), fleet(), seededRng(1))).toBe('cpu-0');
    expect(withDeadlineGuard(alwaysCpu, () => 350)(job(600), fleet(), seededRng(1))).toBe('gpu-0');
  });

  it('leaves a job without a deadline, and a job no worker serves, to the policy', () => {
    expect(withDeadlineGuard(alwaysCpu, () => 0)(job(), fleet(), seededRng(1))).toBe('cpu-0');
    expect(withDeadlineGuard(() => null, () => 0)(job(600), fleet(), seededRng(1))).toBeNull();
  });
});
