import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { PRICED_FLEET, useCluster } from './support.js';

/**
 * promtool's lint may only flag names that are not ours: BullMQ's exporter and
 * prom-client's default metrics (whose names predate the naming rules).
 */
const ALLOWED_LINT = /^(bullmq_|nodejs_|process_)/;

const ctx = useCluster(PRICED_FLEET);

beforeAll(async () => {
  const accepted = await Promise.all(Array.from({ length: 10 }, (_, i) => ctx.client.submit({ model: 'default', input: i })));
  for (const { id } of accepted) await ctx.client.wait(id, { timeoutS: 10 });
});

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return res.text();
}

function promtoolFindings(text: string): { status: number | null; findings: string[] } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error) throw run.error;
  const findings = `${run.stdout}${run.stderr}`.split('\n').filter((l) => l.trim() !== '');
  return { status: run.status, findings };
}

describe('/metrics on every process', () => {
  it('parses with promtool, and its lint flags only BullMQ and prom-client default names', async () => {
    const { cluster } = ctx;
    const endpoints = {
      api: `${cluster.apiUrl}/metrics`,
      dispatcher: `http://127.0.0.1:${cluster.dispatcher.metricsPort}/metrics`,
      worker: `http://127.0.0.1:${cluster.workers.metricsPort}/metrics`,
    };
    for (const [app, url] of Object.entries(endpoints)) {
      const text = await scrape(url);
      const { status, findings } = promtoolFindings(text);
      // 0 = clean, 3 = lint findings only; 1 would be a parse error.
      expect([0, 3], `${app}: ${findings.join('\n')}`).toContain(status);
      const ours = findings.filter((line) => !ALLOWED_LINT.test(line));
      expect(ours, `${app} lint`).toEqual([]);
    }
  });

  it('exports the contract names, with queue counts merged into one family per process', async () => {
    const { cluster } = ctx;
    const api = await scrape(`${cluster.apiUrl}/metrics`);
    expect(api).toMatch(/^sched_jobs_submitted_total\{model="default",priority="normal",app="api"\} 10$/m);
    expect(api).toMatch(/^sched_jobs_rejected_total\{reason="unknown_model",app="api"\} 0$/m);
    const dispatcher = await scrape(`http://127.0.0.1:${cluster.dispatcher.metricsPort}/metrics`);
    expect(dispatcher.match(/^# HELP bullmq_job_count /gm)).toHaveLength(1);
    expect(dispatcher).toMatch(/^bullmq_job_count\{queue="worker\.gpu-0",state="completed"\} \d+$/m);
    expect(dispatcher).toMatch(/^bullmq_job_count\{queue="ingress",state="waiting"\} 0$/m);
    expect(dispatcher).toMatch(/^sched_dispatch_decisions_total\{policy="sed",class="(gpu|cpu)",worker="(gpu|cpu)-0",app="dispatcher"\} \d+$/m);
    expect(dispatcher).toMatch(/^sched_dispatch_decision_duration_seconds_bucket\{le="0.00001",app="dispatcher"\} \d+$/m);
    // Label sets the dashboard shows exist before anything happens to them.
    expect(dispatcher).toMatch(/^sched_fleet_workers\{class="cpu",state="down",app="dispatcher"\} 0$/m);
    expect(dispatcher).toMatch(/^sched_backlog_jobs\{class="gpu",app="dispatcher"\} 0$/m);
    const worker = await scrape(`http://127.0.0.1:${cluster.workers.metricsPort}/metrics`);
    expect(worker.match(/^# HELP bullmq_job_count /gm)).toHaveLength(1);
    expect(worker).toMatch(/^sched_worker_slots\{worker="gpu-0",class="gpu",app="worker"\} 2$/m);
    expect(worker).toMatch(/^sched_job_duration_seconds_count\{(?=[^}]*stage="total")(?=[^}]*model="default")[^}]*\} [1-9]\d*$/m);
    expect(worker).toMatch(/^sched_job_cost_total\{class="gpu",worker="gpu-0",app="worker"\} [0-9.e-]+$/m);
    for (const text of [api, dispatcher, worker]) expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}/);
  });
});
