import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, freePort, waitFor } from '@sched/testkit';
import { PRICED_FLEET, useCluster } from './support.js';

const PROM_DIR = join(REPO_ROOT, 'infra', 'prometheus');
const GRAFANA_DIR = join(REPO_ROOT, 'infra', 'grafana');

interface DashboardTarget {
  expr?: string;
  refId?: string;
  datasource?: { uid?: string };
}
interface DashboardPanel {
  id?: number;
  title?: string;
  type?: string;
  gridPos?: unknown;
  datasource?: { uid?: string };
  targets?: DashboardTarget[];
}
interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: DashboardPanel[];
}

const dashboard = JSON.parse(readFileSync(join(GRAFANA_DIR, 'dashboards', 'scheduler.json'), 'utf8')) as Dashboard;
const ctx = useCluster(PRICED_FLEET);
let prometheus: ChildProcess | undefined;
let promUrl: string;
let dir: string;
let loading = true;
let load: Promise<void> = Promise.resolve();

interface QueryResult {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function query(expr: string): Promise<QueryResult['data']['result']> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as QueryResult;
  expect(body.status, expr).toBe('success');
  return body.data.result;
}

beforeAll(async () => {
  const { cluster, client } = ctx;
  // Keep jobs flowing so every rate() has something to see.
  load = (async () => {
    let i = 0;
    while (loading) {
      // Background load only feeds the rates; a passing error (a 503 while the CI machine is
      // saturated) must not fail the file, the queries below are the assertions.
      try {
        const { id } = await client.submit({ model: 'default', input: i++ });
        await client.wait(id, { timeoutS: 5 });
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  })();
  dir = mkdtempSync(join(tmpdir(), 'sched-prom-'));
  const port = await freePort();
  const target = (p: number | null): string => `127.0.0.1:${p ?? 0}`;
  const config = [
    'global: { scrape_interval: 1s, evaluation_interval: 1s }',
    `rule_files: ["${join(PROM_DIR, 'rules.yml')}", "${join(PROM_DIR, 'alerts.yml')}"]`,
    'scrape_configs:',
    `  - { job_name: api, static_configs: [{ targets: ["${target(new URL(cluster.apiUrl).port ? Number(new URL(cluster.apiUrl).port) : null)}"] }] }`,
    `  - { job_name: dispatcher, static_configs: [{ targets: ["${target(cluster.dispatcher.metricsPort)}"] }] }`,
    `  - { job_name: worker, static_configs: [{ targets: ["${target(cluster.workers.metricsPort)}"] }] }`,
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  prometheus = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: 'ignore' },
  );
  promUrl = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${promUrl}/-/ready`).catch(() => null))?.ok === true, 20_000, 'prometheus to be ready');
  await waitFor(async () => (await query('sum(up)').catch(() => []))[0]?.value[1] === '3', 20_000, 'all three targets up');
});
afterAll(async () => {
  loading = false;
  await load;
  prometheus?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Prometheus, for real', () => {
  it('accepts the shipped config and rules (promtool)', () => {
    for (const args of [
      ['check', 'config', join(PROM_DIR, 'prometheus.yml')],
      ['check', 'config', join(PROM_DIR, 'prometheus.local.yml')],
      ['check', 'rules', join(PROM_DIR, 'rules.yml'), join(PROM_DIR, 'alerts.yml')],
    ]) {
      const run = spawnSync('promtool', args, { encoding: 'utf8' });
      expect(run.status, `${args.join(' ')}: ${run.stdout}${run.stderr}`).toBe(0);
    }
  });

  it('scrapes every process, and every recording rule returns a series', async () => {
    const rules = readFileSync(join(PROM_DIR, 'rules.yml'), 'utf8');
    const records = [...rules.matchAll(/record: (\S+)/g)].map((m) => m[1] ?? '');
    const exprs = [...rules.matchAll(/expr: (.+)$/gm)].map((m) => m[1] ?? '');
    expect(records.length).toBeGreaterThanOrEqual(5);
    await waitFor(async () => (await query(records[0] ?? '')).length > 0, 20_000, 'the first recording rule to evaluate');
    for (const expr of [...exprs, ...records]) {
      let series: unknown[] = [];
      await waitFor(async () => (series = await query(expr)).length > 0, 10_000, `a series for ${expr}`);
      expect(series.length, expr).toBeGreaterThan(0);
    }
    const bullmq = await query('bullmq_job_count{queue="worker.gpu-0"}');
    expect(bullmq.length).toBeGreaterThan(0);
  });
});

describe('the Grafana dashboard', () => {
  it('is valid provisioning: schema fields, the provisioned datasource uid, a query in every panel', () => {
    const datasources = readFileSync(join(GRAFANA_DIR, 'provisioning', 'datasources', 'prometheus.yml'), 'utf8');
    const uid = /uid: (\S+)/.exec(datasources)?.[1];
    expect(uid).toBeDefined();
    const provider = readFileSync(join(GRAFANA_DIR, 'provisioning', 'dashboards', 'scheduler.yml'), 'utf8');
    expect(provider).toMatch(/type: file/);
    expect([typeof dashboard.uid, typeof dashboard.title, typeof dashboard.schemaVersion]).toEqual(['string', 'string', 'number']);
    const panels = dashboard.panels ?? [];
    expect(panels.length).toBeGreaterThanOrEqual(11);
    const ids = new Set<number>();
    for (const panel of panels) {
      expect([typeof panel.id, typeof panel.title, typeof panel.type, typeof panel.gridPos], panel.title).toEqual(['number', 'string', 'string', 'object']);
      ids.add(panel.id ?? -1);
      expect(panel.datasource?.uid, panel.title).toBe(uid);
      expect(panel.targets?.length ?? 0, `${panel.title} has no query`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.expr?.trim().length ?? 0, panel.title).toBeGreaterThan(0);
        expect(target.datasource?.uid, panel.title).toBe(uid);
      }
    }
    expect(ids.size).toBe(panels.length);
  });

  it('every query of every panel returns at least one series from the running cluster', async () => {
    for (const panel of dashboard.panels ?? []) {
      for (const target of panel.targets ?? []) {
        const expr = target.expr ?? '';
        await waitFor(async () => (await query(expr)).length > 0, 15_000, `a series for "${panel.title}": ${expr}`);
      }
    }
  });
});
