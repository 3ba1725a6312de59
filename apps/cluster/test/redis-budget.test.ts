import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { WebhookSink, commandsPerJob, formatCommandsPerJob, type CommandsPerJob, type CommandsPerJobOptions } from '@sched/testkit';
import { BUDGET_ENV, BUDGET_FLEET, BUDGET_FLOOR, BUDGET_WORKLOAD, REDIS_BUDGET, type BudgetFeature } from './redis-budget.js';
import { useCluster } from './support.js';

// Redis commands per job through the whole pipeline, counted with INFO commandstats on the
// cluster's own redis-server, against the table in redis-budget.ts. A count, not a timing: it
// does not depend on the machine's speed, only on what the code sends.

declare module 'vitest' {
  interface TaskMeta {
    /** Redis commands per job a budget line measured. */
    commandsPerJob?: number;
  }
}

const API_KEY = 'budget-test-key-0123456789';
/** A line takes a few seconds; a machine crowded with other work can make it several times that. */
const LINE_TIMEOUT_MS = 120_000;

async function measure(ctx: { redisUrl: string; cluster: { apiUrl: string } }, options: Partial<CommandsPerJobOptions> = {}): Promise<CommandsPerJob> {
  return commandsPerJob({ apiUrl: ctx.cluster.apiUrl, redisUrl: ctx.redisUrl, ...BUDGET_WORKLOAD, ...options });
}

async function expectWithinBudget(test: TestContext, feature: BudgetFeature, measured: CommandsPerJob): Promise<void> {
  const { budget } = REDIS_BUDGET[feature];
  const floor = BUDGET_FLOOR * budget;
  const breakdown = formatCommandsPerJob(measured);
  // Kept with the result when the test passes too, for re-tuning the table (the JSON reporter writes `meta`).
  test.task.meta.commandsPerJob = Number(measured.perJob.toFixed(1));
  await test.annotate(`${feature}: ${measured.perJob.toFixed(1)} commands/job (budget ${budget}, floor ${floor.toFixed(1)})`);
  expect(
    measured.perJob,
    `${feature}: ${measured.perJob.toFixed(1)} Redis commands per job, over its budget of ${budget} (apps/cluster/test/redis-budget.ts). ` +
      `Find what added them in the breakdown; a new feature gets a line of its own rather than a looser base.\n${breakdown}\n`,
  ).toBeLessThanOrEqual(budget);
  expect(
    measured.perJob,
    `${feature}: ${measured.perJob.toFixed(1)} Redis commands per job, under ${Math.round(BUDGET_FLOOR * 100)} % of its budget of ${budget} (${floor.toFixed(1)}). ` +
      `The pipeline got cheaper: lower the budget in apps/cluster/test/redis-budget.ts to about ${Math.ceil(measured.perJob * 1.05)} ` +
      `(highest of several runs + 5 %), so the saving cannot be given back unnoticed.\n${breakdown}\n`,
  ).toBeGreaterThanOrEqual(floor);
}

describe('Redis commands per job (sed, webhooks to loopback allowed)', () => {
  const ctx = useCluster(BUDGET_FLEET, { ...BUDGET_ENV, WEBHOOK_ALLOW_PRIVATE: 'true' });
  let sink: WebhookSink;
  beforeAll(async () => {
    sink = await WebhookSink.start();
  });
  afterAll(async () => {
    await sink.close();
  });

  it(`base pipeline: ${REDIS_BUDGET.base.note}`, async (test) => {
    await expectWithinBudget(test, 'base', await measure(ctx));
  }, LINE_TIMEOUT_MS);

  it(`+ webhook: ${REDIS_BUDGET.webhook.note}`, async (test) => {
    const delivered = sink.received;
    const measured = await measure(ctx, {
      request: (n) => ({ model: 'default', input: n, webhook: { url: sink.url() } }),
      drained: (ended) => sink.received - delivered >= ended,
    });
    expect(sink.received - delivered).toBeGreaterThanOrEqual(BUDGET_WORKLOAD.jobs);
    await expectWithinBudget(test, 'webhook', measured);
  }, LINE_TIMEOUT_MS);

  it(`+ Prefer: wait: ${REDIS_BUDGET.preferWait.note}`, async (test) => {
    await expectWithinBudget(test, 'preferWait', await measure(ctx, { wait: 'prefer-wait' }));
  }, LINE_TIMEOUT_MS);
});

describe('Redis commands per job (API keys)', () => {
  const ctx = useCluster(BUDGET_FLEET, { ...BUDGET_ENV, API_KEYS: API_KEY, FAIR_SHARE: 'false' });

  it(`+ API key: ${REDIS_BUDGET.apiKey.note}`, async (test) => {
    await expectWithinBudget(test, 'apiKey', await measure(ctx, { apiKey: API_KEY }));
  }, LINE_TIMEOUT_MS);
});

describe('Redis commands per job (API keys, fair sharing)', () => {
  const ctx = useCluster(BUDGET_FLEET, { ...BUDGET_ENV, API_KEYS: API_KEY });

  it(`+ fair sharing: ${REDIS_BUDGET.fairShare.note}`, async (test) => {
    await expectWithinBudget(test, 'fairShare', await measure(ctx, { apiKey: API_KEY }));
  }, LINE_TIMEOUT_MS);
});

describe('Redis commands per job (API keys with a request rate and a max in flight)', () => {
  const ctx = useCluster(BUDGET_FLEET, { ...BUDGET_ENV, API_KEYS: API_KEY, RATE_LIMIT_PER_S: '100000', MAX_IN_FLIGHT_PER_KEY: '100000' });

  it(`+ admission control: ${REDIS_BUDGET.admission.note}`, async (test) => {
    await expectWithinBudget(test, 'admission', await measure(ctx, { apiKey: API_KEY }));
  }, LINE_TIMEOUT_MS);
});

describe('Redis commands per job (sed-late)', () => {
  const ctx = useCluster(BUDGET_FLEET, { ...BUDGET_ENV, SCHED_POLICY: 'sed-late' });

  it(`+ sed-late: ${REDIS_BUDGET.sedLate.note}`, async (test) => {
    await expectWithinBudget(test, 'sedLate', await measure(ctx, { clients: 16 }));
  }, LINE_TIMEOUT_MS);
});
