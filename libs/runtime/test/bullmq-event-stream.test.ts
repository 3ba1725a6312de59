import { Queue, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { useRedis } from '@sched/testkit/fixtures';
import { closeRedis, consumerOptions, createRedis, producerQueueOptions, withoutEventStream } from '../src/index.js';

const redis = useRedis();

/** Adds `count` jobs, lets one Worker finish them all; resolves with the event stream's length and the jobs' results. */
async function runJobs(bullmqEvents: boolean, count: number): Promise<{ streamLength: number; results: unknown[] }> {
  const prefix = `events-${String(bullmqEvents)}`;
  const producer = createRedis(redis.url, 'service', { bullmqEvents });
  const consumer = createRedis(redis.url, 'blocking', { bullmqEvents });
  const queue = new Queue('q', producerQueueOptions(producer, prefix));
  const finished: Promise<unknown>[] = [];
  const worker = new Worker('q', (job) => Promise.resolve({ doubled: (job.data as { n: number }).n * 2 }), consumerOptions(consumer, prefix, { concurrency: 4 }));
  try {
    const done = new Map<string, (value: unknown) => void>();
    worker.on('completed', (job, result) => done.get(job.id ?? '')?.(result));
    for (let n = 0; n < count; n++) {
      finished.push(new Promise((resolve) => done.set(`job-${n}`, resolve)));
      await queue.add('job', { n }, { jobId: `job-${n}`, priority: 2, removeOnComplete: { age: 60 } });
    }
    const results = await Promise.all(finished);
    return { streamLength: await producer.xlen(`${prefix}:q:events`), results };
  } finally {
    await worker.close();
    await queue.close();
    await Promise.all([closeRedis(producer), closeRedis(consumer)]);
  }
}

describe('BullMQ event streams', () => {
  it('are not written by default, and jobs run exactly as before', async () => {
    const { streamLength, results } = await runJobs(false, 20);
    expect(results).toEqual(Array.from({ length: 20 }, (_, n) => ({ doubled: n * 2 })));
    expect(streamLength).toBe(0);
  });

  it('are written with bullmqEvents (BULLMQ_EVENTS=true): added, waiting, active, completed per job', async () => {
    const { streamLength, results } = await runJobs(true, 20);
    expect(results).toHaveLength(20);
    expect(streamLength).toBeGreaterThanOrEqual(20 * 3);
  });

  it('the rewrite replaces every stream write and nothing else', () => {
    const lua = [
      'local x = rcall("HGET", k, "f")',
      'local maxEvents = rcall("HGET", metaKey, "opts.maxLenEvents")',
      'rcall("XADD", eventsKey, "*", "event", "added")',
      'if x then rcall("XTRIM", eventsKey, "MAXLEN", "~", maxEvents) end',
      'rcall("XLEN", eventsKey)',
    ].join('\n');
    const { lua: rewritten, removed } = withoutEventStream(lua);
    expect(removed).toBe(3);
    expect(rewritten).toContain('local maxEvents = "10000"');
    expect(rewritten).not.toMatch(/rcall\("X(ADD|TRIM)"/);
    expect(rewritten).toContain('rcall("HGET", k, "f")');
    expect(rewritten).toContain('rcall("XLEN", eventsKey)');
    expect(withoutEventStream('return 1')).toEqual({ lua: 'return 1', removed: 0 });
  });
});
