import { parseCatalog } from '@sched/core';

/**
 * Redis commands per job through the whole pipeline (submit → completed), one line per feature,
 * asserted by redis-budget.test.ts: measured ≤ budget and ≥ {@link BUDGET_FLOOR} × budget. A new
 * feature that costs commands adds its own line rather than raising the base; a change that makes
 * the pipeline cheaper lowers the lines it moves (the floor fails until it does).
 *
 * The counts hold for {@link BUDGET_FLEET} and {@link BUDGET_WORKLOAD} only: how jobs overlap
 * changes the count per job (one wake-up or one batched read serves several jobs), so both are
 * pinned. Budgets are about the highest of several runs plus 5 %.
 */
export interface BudgetLine {
  /** Commands per job, at most. */
  readonly budget: number;
  /** What the line adds to the base. */
  readonly note: string;
  /** The counts the budget was set from: lowest–highest of several runs, and when. */
  readonly measured: string;
}

export const REDIS_BUDGET = {
  base: {
    budget: 115,
    note: 'submit + long-poll until completed, no webhook, no API keys, sed',
    measured:
      '109.4 (issue 12: + the owner listing indexes, 2 ZADD, and the usage counters, 3 HINCRBY; 104.2 before, same session); 103.7 (2 runs, quiet machine, after the long-poll stopped reading jobs accepted here; 105.2–113.0 before, 19 runs under load)',
  },
  webhook: {
    budget: 183,
    note: 'each job with a webhook to a loopback sink: outbox reservation, promotion, delivery job, view read, state record',
    measured: '173.7 (issue 12 owner indexes and usage; 166.3 before); 166.0–166.2 (2 runs, quiet; 167.9–177.8 before the long-poll change, 19 runs under load)',
  },
  apiKey: {
    budget: 115,
    note: 'API_KEYS set, every request authenticated (keys live in config: no Redis command of its own), fair sharing off (its own line)',
    measured: '108.8 (issue 12 owner indexes and usage; 103.0 before); 102.5–102.8 (2 runs, quiet; 107.5–112.6 before the long-poll change)',
  },
  fairShare: {
    budget: 123,
    note: "API keys with fair sharing on (FAIR_SHARE, the default with keys): the dispatcher's tag script per worker-queue add (HMGET, ZRANGEBYSCORE, HSET inside) and the worker's HSET of its queue's virtual time at each start",
    measured: '116.7 (1 run, issue 12 fair sharing, against an API-key line of about 108.8 without it: +8)',
  },
  admission: {
    budget: 130,
    note: "API key with a request rate (RATE_LIMIT_PER_S: rate-limit-redis's script per request, two requests per job) and a max in flight (MAX_IN_FLIGHT_PER_KEY: the reserve script, a ZREM at the end); commands inside scripts count",
    measured: '122.3–123.8 (2 runs after tenants and pending idempotency records merged; before them 115.1–116.4 against an API-key line of 101.6–103.5: about +13)',
  },
  preferWait: {
    budget: 115,
    note: 'one POST /v1/jobs with Prefer: wait per job instead of submit + long-poll',
    measured: '108.9 (issue 12 owner indexes and usage; 103.6 before); 103.8–104.6 (2 runs, quiet; 97.9–107.5 under load, 19 runs)',
  },
  sedLate: {
    budget: 96,
    note: 'SCHED_POLICY=sed-late, 16 clients on 9 bind slots (6 slots + 1 prefetch per worker), so some jobs are held (sed at 16 clients: about 90)',
    measured: '90.5 (issue 12 owner indexes and usage; 85.5 before); 84.6–85.0 (2 runs, quiet; 89.4–92.9 before the long-poll change, under load)',
  },
} as const satisfies Record<string, BudgetLine>;

export type BudgetFeature = keyof typeof REDIS_BUDGET;

/** A line fails when the measured count falls below this share of its budget: lower the budget then. */
export const BUDGET_FLOOR = 0.85;

/** Three gpu workers of two slots at 1–2 ms: the pipeline's own cost dominates each job. */
export const BUDGET_FLEET = parseCatalog({
  models: { default: { gpu: { p50Ms: 1, p99Ms: 2 } } },
  workers: [0, 1, 2].map((i) => ({ id: `gpu-${i}`, class: 'gpu', slots: 2 })),
});

/**
 * On top of the test config: the timers back at their production defaults (the test config's
 * 200 ms would make timer-driven commands a larger share to take out), and a Redis time limit
 * that a crowded test machine does not trip (an answer slower than 1 s fails a submission).
 */
export const BUDGET_ENV = { HEARTBEAT_MS: '1000', FLEET_REFRESH_MS: '1000', PARK_RECHECK_MS: '1000', REDIS_TIMEOUT_MS: '5000' } as const;

/** Jobs counted per line and the closed-loop clients running them (sed-late's line sets its own clients). */
export const BUDGET_WORKLOAD = { jobs: 200, clients: 4 } as const;
