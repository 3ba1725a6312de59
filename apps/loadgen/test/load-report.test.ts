import { ApiError } from '@sched/client';
import { describe, expect, it } from 'vitest';
import { LoadRecorder } from '../src/load-recorder.js';
import { buildLoadReport, formatLoadReport } from '../src/load-report.js';
import { completedView } from './job-views.js';

/** 100 jobs over 2 s: latencies 1..100 ms; 75 on gpu-0, 20 on cpu-0, 5 on cpu-1; 2 rejected. */
function sampleRecorder(): LoadRecorder {
  const recorder = new LoadRecorder();
  for (let i = 1; i <= 100; i++) {
    recorder.noteSubmit(i * 20 - 20, 0);
    const [worker, workerClass] = i <= 75 ? ['gpu-0', 'gpu'] : i <= 95 ? ['cpu-0', 'cpu'] : ['cpu-1', 'cpu'];
    recorder.recordView(completedView('j', worker, workerClass), i, 2000);
  }
  for (let i = 0; i < 2; i++) {
    recorder.noteSubmit(1990, 12.5);
    recorder.recordError(new ApiError('rate_limited', 'POST /v1/jobs: 429 Too many requests', { status: 429 }), 1995);
  }
  return recorder;
}

describe('buildLoadReport', () => {
  const report = buildLoadReport('burst', sampleRecorder());

  it('counts jobs, completions and errors by kind with a first message', () => {
    expect(report).toMatchObject({ mode: 'burst', count: 102, completed: 100, failed: 2 });
    expect(report.errors).toEqual({ 'http 429 rate_limited': { count: 2, example: 'POST /v1/jobs: 429 Too many requests' } });
  });

  it('gives latency percentiles of completed jobs in ms', () => {
    expect(report.latencyMs).toEqual({ p50: 50, p90: 90, p95: 95, p99: 99, max: 100, mean: 50.5 });
  });

  it('gives throughput as completed jobs over first submit to last result', () => {
    expect(report.durationS).toBe(2);
    expect(report.throughputPerS).toBe(50);
  });

  it('gives the share of completed jobs per class and per worker, largest first', () => {
    expect(report.byClass).toEqual({ gpu: { jobs: 75, share: 0.75 }, cpu: { jobs: 25, share: 0.25 } });
    expect(Object.keys(report.byWorker)).toEqual(['gpu-0', 'cpu-0', 'cpu-1']);
    expect(report.byWorker['cpu-1']).toEqual({ class: 'cpu', jobs: 5, share: 0.05 });
  });

  it('reports jobs sent late', () => {
    expect(report.lateStarts).toBe(2);
    expect(report.maxStartLagMs).toBe(12.5);
  });

  it('survives a JSON round trip unchanged (what --json prints)', () => {
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('has no latency when no job completed', () => {
    const recorder = new LoadRecorder();
    recorder.noteSubmit(0, 0);
    recorder.recordError(new ApiError('network_error', 'connect ECONNREFUSED'), 1);
    const empty = buildLoadReport('open', recorder);
    expect(empty).toMatchObject({ completed: 0, failed: 1, latencyMs: null, throughputPerS: 0, byClass: {} });
    expect(empty.errors).toEqual({ network_error: { count: 1, example: 'connect ECONNREFUSED' } });
  });
});

describe('formatLoadReport', () => {
  it('prints the counts, the latency row, the shares and the errors as aligned tables', () => {
    const text = formatLoadReport(buildLoadReport('burst', sampleRecorder()));
    expect(text).toMatch(/^completed\s+100$/m);
    expect(text).toMatch(/throughput\s+50\.0 jobs\/s/);
    expect(text).toMatch(/latency \(ms\)\s+p50\s+p90\s+p95\s+p99\s+max\s+mean\n/);
    expect(text).toMatch(/submit → result\s+50\.0\s+90\.0\s+95\.0\s+99\.0\s+100\.0\s+50\.5\n/);
    expect(text).toMatch(/gpu\s+75\s+75\.0 %/);
    expect(text).toMatch(/cpu-1\s+cpu\s+5\s+5\.0 %/);
    expect(text).toMatch(/http 429 rate_limited\s+2\s+POST \/v1\/jobs: 429 Too many requests\n$/);
  });

  it('says so when no job completed', () => {
    const recorder = new LoadRecorder();
    recorder.noteSubmit(0, 0);
    recorder.recordError(new ApiError('network_error', 'connect ECONNREFUSED'), 1);
    expect(formatLoadReport(buildLoadReport('burst', recorder))).toContain('latency (ms): no job completed');
  });
});
