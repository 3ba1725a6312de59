import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '@sched/testkit';

// docker-compose.yml, as `docker-compose config` resolves it (anchors merged, paths absolute),
// checked against what it runs: the image, the fleet file, and the Prometheus, Alertmanager and
// Grafana configs it mounts. No Docker engine is needed (or used) for `config`.

interface Service {
  build?: { context: string } | string;
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  ports?: (string | { target: number; published?: number | string })[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  stop_grace_period?: string;
  init?: boolean;
}

let services: Record<string, Service> = {};

beforeAll(() => {
  const run = spawnSync('docker-compose', ['-f', join(REPO_ROOT, 'docker-compose.yml'), 'config'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`docker-compose config failed (${run.status ?? run.signal}):\n${run.stdout}${run.stderr}`);
  services = (parse(run.stdout) as { services: Record<string, Service> }).services;
});

const APP_PORTS = { api: 8080, dispatcher: 9464, worker: 9465 } as const;

/** The services built from this repository's Dockerfile, with the app each runs. */
function appServices(): { name: string; app: string; service: Service }[] {
  return Object.entries(services)
    .filter(([, service]) => service.build !== undefined)
    .map(([name, service]) => ({ name, app: service.environment?.APP ?? 'api', service }));
}

function dependencies(service: Service): Record<string, { condition?: string }> {
  const dependsOn = service.depends_on ?? {};
  return Array.isArray(dependsOn) ? Object.fromEntries(dependsOn.map((name) => [name, {}])) : dependsOn;
}

/** A bind mount's host path and container path (the short `src:dst[:ro]` form, or the long one). */
function binds(service: Service): { source: string; target: string }[] {
  return (service.volumes ?? []).flatMap((volume) => {
    if (typeof volume !== 'string') return volume.type === 'bind' && volume.source !== undefined ? [{ source: volume.source, target: volume.target }] : [];
    const [source = '', target = ''] = volume.split(':');
    return source.startsWith('/') ? [{ source, target }] : [];
  });
}

function hostPath(service: Service, containerPath: string): string {
  const mount = binds(service).find(({ target }) => containerPath === target || containerPath.startsWith(`${target}/`));
  if (mount === undefined) throw new Error(`${containerPath} is not bind-mounted`);
  return join(mount.source, containerPath.slice(mount.target.length));
}

describe('docker-compose.yml (docker-compose config)', () => {
  it('runs Redis with AOF, noeviction and a health check that waits for PONG', () => {
    const redis = services.redis;
    const command = Array.isArray(redis?.command) ? redis.command.join(' ') : (redis?.command ?? '');
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/--maxmemory-policy noeviction/);
    expect(command).toMatch(/--maxmemory \S+/);
    expect(JSON.stringify(redis?.healthcheck?.test)).toMatch(/PONG/);
  });

  it('runs the API, two dispatchers and the fleet file\'s workers, each id in exactly one host, all from the image behind an init', () => {
    const apps = appServices();
    expect(apps.map((a) => a.app).sort()).toEqual(['api', 'dispatcher', 'dispatcher', 'worker', 'worker']);
    for (const { name, service } of apps) {
      expect(typeof service.build === 'string' ? service.build : service.build?.context, name).toBe(REPO_ROOT.replace(/\/$/, ''));
      // An init process passes SIGTERM on before the app has installed its handler.
      expect(service.init, name).toBe(true);
    }
    const fleet = JSON.parse(readFileSync(join(REPO_ROOT, 'fleets', 'default.json'), 'utf8')) as { workers: { id: string }[] };
    const hosted = apps.filter((a) => a.app === 'worker').flatMap((a) => (a.service.environment?.WORKER_IDS ?? '').split(','));
    expect(hosted.sort()).toEqual(fleet.workers.map((w) => w.id).sort());
    // A worker host drains for up to SHUTDOWN_TIMEOUT_MS (10 s by default) before it exits.
    for (const { name, service } of apps.filter((a) => a.app === 'worker')) {
      expect(Number.parseInt(service.stop_grace_period ?? '10s', 10), name).toBeGreaterThan(10);
    }
  });

  it('starts every service only after what it depends on is healthy, and every such service has a health check', () => {
    const imageHasHealthcheck = DockerfileParser.parse(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8')).getHEALTHCHECKs().length > 0;
    expect(imageHasHealthcheck).toBe(true);
    const healthChecked = (name: string): boolean => {
      const service = services[name];
      if (service === undefined || service.healthcheck?.disable === true) return false;
      return service.healthcheck?.test !== undefined || (service.build !== undefined && imageHasHealthcheck);
    };
    for (const { name, service } of appServices()) expect(Object.keys(dependencies(service)), name).toContain('redis');
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(dependencies(service))) {
        expect(condition, `${name} → ${dependency}`).toBe('service_healthy');
        expect(healthChecked(dependency), `${dependency} has a health check`).toBe(true);
      }
    }
  });

  it('has Prometheus scrape every app container and send alerts to the Alertmanager service, with rules the mounted directory holds', () => {
    const prometheus = services.prometheus ?? {};
    const configFlag = (Array.isArray(prometheus.command) ? prometheus.command : []).find((arg) => arg.startsWith('--config.file='));
    const configPath = hostPath(prometheus, configFlag?.slice('--config.file='.length) ?? '/etc/prometheus/prometheus.yml');
    const config = parse(readFileSync(configPath, 'utf8')) as {
      rule_files: string[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const scraped = config.scrape_configs.flatMap((job) => job.static_configs.flatMap((c) => c.targets.map((target) => ({ job: job.job_name, target }))));
    const expected = appServices().map(({ name, app }) => ({ job: app, target: `${name}:${APP_PORTS[app as keyof typeof APP_PORTS]}` }));
    expect(scraped.sort((a, b) => a.target.localeCompare(b.target))).toEqual(expected.sort((a, b) => a.target.localeCompare(b.target)));
    for (const rules of config.rule_files) expect(existsSync(join(configPath, '..', rules)), rules).toBe(true);
    const alertmanagers = config.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets));
    expect(alertmanagers).toEqual(['alertmanager:9093']);
    expect(services.alertmanager).toBeDefined();
  });

  it('gives Alertmanager a config amtool accepts', () => {
    const alertmanager = services.alertmanager ?? {};
    const configFlag = (Array.isArray(alertmanager.command) ? alertmanager.command : []).find((arg) => arg.startsWith('--config.file='));
    const check = spawnSync('amtool', ['check-config', hostPath(alertmanager, configFlag?.slice('--config.file='.length) ?? '')], { encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
  });

  it('provisions Grafana with the Prometheus service as its datasource and the dashboards directory', () => {
    const grafana = services.grafana ?? {};
    const datasources = readFileSync(join(hostPath(grafana, '/etc/grafana/provisioning'), 'datasources', 'prometheus.yml'), 'utf8');
    expect(datasources).toMatch(/url: http:\/\/prometheus:9090/);
    const provider = parse(readFileSync(join(hostPath(grafana, '/etc/grafana/provisioning'), 'dashboards', 'scheduler.yml'), 'utf8')) as { providers: { options: { path: string } }[] };
    const dashboards = hostPath(grafana, provider.providers[0]?.options.path ?? '');
    expect(existsSync(join(dashboards, 'scheduler.json'))).toBe(true);
  });
});
