import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BULLMQ_PRIORITY, fairVirtualTimeField, keySpace, workerQueueName, type JobPayload } from '@sched/core';
import { FAIR_REBASE_STEPS, FairBand, FleetIndex, workerQueuePriority } from '@sched/policies';
import { closeRedis, createRedis } from '@sched/runtime';
import { useRedis } from '@sched/testkit/fixtures';
import { FairShare } from '../src/fair-share.js';

// The Redis scripts are FairBand's steps: replayed side by side on random sequences, they agree.

const redisFixture = useRedis();
const SCORE_STEP = 2 ** 32;

type Op = { kind: 'tag'; owner: string; cost: number; weight: number; dt: number } | { kind: 'start' };

const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('tag' as const), owner: fc.constantFrom('a', 'b', 'c'), cost: fc.oneof(fc.double({ min: 0.01, max: 50, noNaN: true }), fc.constantFrom(FAIR_REBASE_STEPS / 3, 1e5)), weight: fc.constantFrom(1, 2, 0.5), dt: fc.constantFrom(0, 1, 7, 300, 5e5) }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'start' as const }) },
  ),
  { minLength: 1, maxLength: 60 },
);

describe('FairShare: the scripts against FairBand', () => {
  it('a worker queue: the same ranks, tags and rebases, and BullMQ’s prioritized set and job hashes moved as FairBand moves its ranks', async () => {
    const config = redisFixture.config();
    const keys = keySpace(config.KEY_PREFIX);
    const redis = createRedis(redisFixture.url, 'service');
    const fair = new FairShare({ redis, keys, snapshot: new FleetIndex(), enabled: true });
    const queue = workerQueueName('w1');
    const prioritized = keys.queueKey(queue, 'prioritized');
    let run = 0;
    let rebases = 0;
    try {
      await fc.assert(
        fc.asyncProperty(ops, async (sequence: Op[]) => {
          run++;
          await redis.del(keys.fairQueue('w1'), prioritized);
          const band = new FairBand();
          /** The band as BullMQ would hold it: [rank, counter, id, start tag], served lowest rank, then counter. */
          let waiting: [number, number, string, number][] = [];
          let counter = 0;
          let now = 1000;
          for (const op of sequence) {
            if (op.kind === 'start') {
              waiting.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
              const head = waiting.shift();
              const popped = await redis.zpopmin(prioritized);
              expect(popped[0]).toBe(head?.[2]);
              // The worker starts it and records its tag as the band's V.
              if (head !== undefined) {
                band.started(head[3]);
                await redis.hset(keys.fairQueue('w1'), fairVirtualTimeField('normal'), head[3]);
              }
              continue;
            }
            const headRank = waiting.length === 0 ? null : Math.min(...waiting.map((job) => job[0]));
            now += op.dt;
            const expected = band.queueTag(op.owner, headRank, op.cost, op.weight, now);
            const got = await fair.queueTag('w1', 'normal', op.owner, op.cost, op.weight, now);
            expect(got.rank).toBe(expected.rank);
            expect(got.shift).toBe(expected.shift);
            expect(got.start).toBeCloseTo(expected.start, 6);
            expect(got.virtualTime).toBeCloseTo(expected.virtualTime, 6);
            if (expected.shift > 0) rebases++;
            if (expected.shift > 0) waiting = waiting.map(([rank, c, id, start]) => [Math.max(0, rank - expected.shift), c, id, start]);
            const id = `r${run}-${counter}`;
            waiting.push([expected.rank, counter, id, got.start]);
            await redis.zadd(prioritized, (workerQueuePriority('normal', expected.rank)) * SCORE_STEP + counter, id);
            await redis.hset(keys.jobHash(queue, id), 'priority', workerQueuePriority('normal', expected.rank));
            counter++;
          }
          // After any rebases: every waiting job's score and job hash say the rank FairBand has for it.
          for (const [rank, c, id] of waiting) {
            expect(Number(await redis.zscore(prioritized, id))).toBe((BULLMQ_PRIORITY.normal + rank) * SCORE_STEP + c);
            expect(Number(await redis.hget(keys.jobHash(queue, id), 'priority'))).toBe(BULLMQ_PRIORITY.normal + rank);
          }
        }),
        {
          numRuns: 40,
          // One sequence surely rebases: A's third job is ranked 4e5 ahead; once the two before it start, it heads the band.
          examples: [
            [
              [
                { kind: 'tag', owner: 'a', cost: 1e5, weight: 0.5, dt: 0 },
                { kind: 'tag', owner: 'a', cost: 1e5, weight: 0.5, dt: 0 },
                { kind: 'tag', owner: 'a', cost: 1e5, weight: 0.5, dt: 0 },
                { kind: 'tag', owner: 'b', cost: 3, weight: 1, dt: 0 },
                { kind: 'start' },
                { kind: 'start' },
                { kind: 'start' },
                { kind: 'tag', owner: 'a', cost: 2, weight: 1, dt: 0 },
                { kind: 'tag', owner: 'c', cost: 2, weight: 2, dt: 0 },
              ],
            ],
          ],
        },
      );
      // The sequences reached a rebase (large costs make a head rank pass FAIR_REBASE_STEPS).
      expect(rebases).toBeGreaterThan(0);
    } finally {
      await closeRedis(redis);
    }
  });

  it('held jobs: the same start tags, with the tenants’ tags shared by two dispatchers', async () => {
    const config = redisFixture.config();
    const keys = keySpace(config.KEY_PREFIX);
    const redis = createRedis(redisFixture.url, 'service');
    const snapshot = new FleetIndex([{ id: 'w1', class: 'gpu', slots: 4, models: ['m'] }], { expectedServiceMs: () => 8 });
    const cost = 8 / 4;
    try {
      await redis.del(keys.fairHeld);
      const one = new FairShare({ redis, keys, snapshot, enabled: true });
      const two = new FairShare({ redis, keys, snapshot, enabled: true });
      const band = new FairBand();
      const payload = (owner: string): JobPayload => ({ model: 'm', input: 1, priority: 'normal', createdAt: 0, owner });
      // A's burst through dispatcher one, then B through dispatcher two (which holds nothing yet): B starts at V.
      let head: number | null = null;
      for (let i = 0; i < 50; i++) {
        const got = await one.holdTag(payload('a'), head);
        expect(got).toBe(band.holdTag('a', head, cost, 1));
        head ??= got ?? null;
      }
      expect(await two.holdTag(payload('b'), null)).toBe(0);
      // A through dispatcher two continues from A's tag, which dispatcher one left in Redis.
      expect(await two.holdTag(payload('a'), 0)).toBe(50 * cost);
      // Jobs without keys, or with fair sharing off, take no part and cost no command.
      expect(await one.holdTag(payload('anonymous'), null)).toBeUndefined();
      const off = new FairShare({ redis, keys, snapshot, enabled: false });
      expect(await off.holdTag(payload('a'), null)).toBeUndefined();
      expect(await off.queuePlace(payload('a'), 'w1')).toEqual({ priority: BULLMQ_PRIORITY.normal });
    } finally {
      await closeRedis(redis);
    }
  });
});
