import type { SchedClient } from '@sched/client';
import type { JobStatus, JobView } from '@sched/core';

/**
 * Polls a job until it reaches `status`, which may be one it passes through (`dispatched`,
 * `running`): `client.wait` only returns terminal views. Throws naming the status it saw last.
 */
export async function untilStatus(client: SchedClient, id: string, status: JobStatus, timeoutMs = 10_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await client.get(id);
    if (view.status === status) return view;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${view.status}, not ${status}, after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
