import type { JobView } from '@sched/core';

/** The view of a job that completed on `worker`: what the load client records. */
export function completedView(id: string, worker = 'gpu-0', workerClass = 'gpu'): JobView {
  return {
    id,
    status: 'completed',
    model: 'default',
    priority: 'normal',
    worker: { id: worker, class: workerClass },
    result: { model: 'default', worker, class: workerClass, output: null },
    attempts: 1,
    timings: { createdAt: new Date(0).toISOString() },
  };
}
