import { describe, expect, it } from 'vitest';
import { mergeExpositions } from '../src/index.js';

const perQueue = (queue: string, waiting: number): string =>
  [
    '# HELP bullmq_job_count Number of jobs in the queue by state',
    '# TYPE bullmq_job_count gauge',
    `bullmq_job_count{queue="${queue}", state="waiting"} ${waiting}`,
    '# HELP bullmq_job_completed_total Total number of completed jobs',
    '# TYPE bullmq_job_completed_total counter',
    `bullmq_job_completed_total{queue="${queue}"} 7`,
  ].join('\n');

describe('mergeExpositions', () => {
  it('keeps one HELP and TYPE per family and every sample, in family order', () => {
    expect(mergeExpositions([perQueue('ingress', 3), perQueue('worker.gpu-0', 1)])).toBe(
      [
        '# HELP bullmq_job_count Number of jobs in the queue by state',
        '# TYPE bullmq_job_count gauge',
        'bullmq_job_count{queue="ingress",state="waiting"} 3',
        'bullmq_job_count{queue="worker.gpu-0",state="waiting"} 1',
        '# HELP bullmq_job_completed_total Total number of completed jobs',
        '# TYPE bullmq_job_completed_total counter',
        'bullmq_job_completed_total{queue="ingress"} 7',
        'bullmq_job_completed_total{queue="worker.gpu-0"} 7',
        '',
      ].join('\n'),
    );
  });

  it('returns nothing for nothing', () => {
    expect(mergeExpositions([])).toBe('');
  });
});
