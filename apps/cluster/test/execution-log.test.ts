import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '@sched/core';
import { parseExecutionLog } from '@sched/worker';
import { useSeededCluster } from './support.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } },
  workers: [{ id: 'flaky-0', class: 'gpu', slots: 4, failureRate: 0.5 }],
});
const dir = mkdtempSync(join(tmpdir(), 'sched-execution-log-'));
const logPath = join(dir, 'executions.log');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A worker that fails half its runs (seeded), so some jobs start more than once.
const ctx = useSeededCluster(fleet, 7, { MAX_ATTEMPTS: '12', RETRY_BACKOFF_MS: '5', EXECUTION_LOG: logPath });

describe('EXECUTION_LOG', () => {
  it('records one line per execution start, retries included, with the attempt, worker and host pid', async () => {
    const { client } = ctx;
    const accepted = await Promise.all(Array.from({ length: 20 }, (_, i) => client.submit({ model: 'default', input: i })));
    const views = await Promise.all(accepted.map(({ id }) => client.wait(id, { timeoutS: 20 })));
    const records = parseExecutionLog(readFileSync(logPath, 'utf8'));
    for (const view of views) {
      const runs = records.filter((r) => r.jobId === view.id);
      expect(runs.map((r) => r.attempt)).toEqual(Array.from({ length: view.attempts }, (_, i) => i + 1));
      expect(new Set(runs.map((r) => `${r.workerId} ${r.pid}`))).toEqual(new Set([`flaky-0 ${process.pid}`]));
    }
    expect(records.length).toBeGreaterThan(views.length);
  });
});
