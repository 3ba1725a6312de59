import { Queue, QueueEvents, Worker } from 'bullmq';
import { seededRng, type Catalog } from '@sched/core';
import { RedisServer } from '@sched/testkit';
import { createRedis } from '@sched/runtime';
import { LatencyModel, type TraceArrival } from '@sched/exec';

/**
 * The baseline a team would build instead: one plain BullMQ queue that every worker
 * pulls from when a slot is free (FCFS), with the same simulated service times.
 * Jobs are added straight to the queue at the trace's times (no HTTP, no dispatcher)
 * and timed add → completion event, so it pays only BullMQ's own hops.
 */
export async function runSharedQueueLive(fleet: Catalog, arrivals: readonly TraceArrival[], seed: number): Promise<number[]> {
  const redis = await RedisServer.start({ appendOnly: false });
  const latency = new LatencyModel(fleet.models);
  const rng = seededRng(seed);
  const connection = { url: redis.url, maxRetriesPerRequest: null };
  const producer = createRedis(redis.url, 'service');
  const queue = new Queue<{ model: string; i: number }>('shared', { connection: producer, skipVersionCheck: true });
  const events = new QueueEvents('shared', { connection, skipVersionCheck: true });
  await events.waitUntilReady();
  const workers = fleet.workers.map(
    (spec) =>
      new Worker<{ model: string; i: number }>(
        'shared',
        async (job) => {
          if (!latency.serves(job.data.model, spec.class)) throw new Error('not served');
          await new Promise((r) => setTimeout(r, latency.sampleMs(job.data.model, spec.class, rng)));
        },
        { connection, concurrency: spec.slots, skipVersionCheck: true },
      ),
  );
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const addedAt = new Map<string, number>();
  const latencies: number[] = [];
  const done = new Promise<void>((resolve) => {
    events.on('completed', ({ jobId }) => {
      const at = addedAt.get(jobId);
      if (at !== undefined) latencies.push(performance.now() - at);
      if (latencies.length === arrivals.length) resolve();
    });
  });
  const start = performance.now();
  const first = arrivals[0]?.t ?? 0;
  for (const [i, arrival] of arrivals.entries()) {
    const wait = start + (arrival.t - first) - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const id = `j${i}`;
    addedAt.set(id, performance.now());
    void queue.add('job', { model: arrival.model, i }, { jobId: id, removeOnComplete: true });
  }
  await done;
  await Promise.all(workers.map((w) => w.close()));
  await events.close();
  await queue.close();
  producer.disconnect();
  await redis.destroy();
  return latencies;
}
