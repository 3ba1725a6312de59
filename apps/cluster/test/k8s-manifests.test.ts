import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCatalog, type Config } from '@sched/core';
import { REPO_ROOT } from '@sched/testkit';
import { createDispatcherMetrics, createRegistry, createWorkerMetrics } from '@sched/telemetry';
import {
  KUSTOMIZATION_FIELDS,
  findObject,
  readBase,
  readEnvFile,
  readKustomization,
  yamlFilesIn,
  type Manifest,
} from './kustomize-tree.js';
import { appOf, containerEnv, loadContainerConfig, mountedFile, strictProblems, typedProblems, workloads, type Container, type Probe } from './manifest-checks.js';
import { PRICED_FLEET, useCluster } from './support.js';

// Every manifest of infra/k8s, offline: the kustomization, typed and strict validation, the
// environment against the config schema, probes, grace periods, the KEDA triggers, monitoring.

const K8S_DIR = join(REPO_ROOT, 'infra', 'k8s');
const BASE_DIR = join(K8S_DIR, 'base');
const OVERLAY_DIR = join(K8S_DIR, 'overlays', 'example');
const base = readBase(BASE_DIR);
const objects = base.objects;
const pods = workloads(objects);

/** runMain exits this long after SHUTDOWN_TIMEOUT_MS at the latest (libs/runtime/src/run-main.ts). */
const RUN_MAIN_MARGIN_MS = 2000;

function only<T>(items: readonly T[], what: string): T {
  expect(items, what).toHaveLength(1);
  return items[0] as T;
}

function labelsMatch(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Each container with its environment resolved and its config loaded as the app would. */
const containers = pods.flatMap((workload) =>
  workload.pod.containers.map((container) => {
    const { env, problems } = containerEnv(container, workload, objects);
    return { workload, container, env, problems, config: loadContainerConfig(env) };
  }),
);

function configOf(entry: (typeof containers)[number]): Config {
  if (typeof entry.config === 'string') throw new Error(`${entry.workload.object.metadata.name}: ${entry.config}`);
  return entry.config;
}

function scaledObjects(): Manifest[] {
  return objects.filter((o) => o.kind === 'ScaledObject');
}

interface ScaledObjectSpec {
  scaleTargetRef: { apiVersion?: string; kind?: string; name: string };
  minReplicaCount?: number;
  maxReplicaCount?: number;
  triggers: { type: string; metricType?: string; metadata: Record<string, string> }[];
}

describe('the kustomization', () => {
  it('lists every manifest file of the base, each one existing, and uses only fields these checks read', () => {
    expect([...base.files.keys()].sort()).toEqual(yamlFilesIn(BASE_DIR));
    for (const dir of [BASE_DIR, OVERLAY_DIR]) {
      expect(Object.keys(readKustomization(dir)).filter((k) => !KUSTOMIZATION_FIELDS.includes(k)), dir).toEqual([]);
    }
    for (const generator of [...(base.kustomization.configMapGenerator ?? []), ...(base.kustomization.secretGenerator ?? [])]) {
      for (const file of [...(generator.envs ?? []), ...(generator.files ?? [])]) expect(existsSync(join(BASE_DIR, file)), file).toBe(true);
    }
  });

  it('puts everything in one namespace that it also creates', () => {
    const namespace = only(objects.filter((o) => o.kind === 'Namespace'), 'one Namespace');
    expect(base.kustomization.namespace).toBe(namespace.metadata.name);
  });

  it('the example overlay builds on the base: the image placeholder, a replacement for the example Secret with the same keys, patches of existing objects', () => {
    const overlay = readKustomization(OVERLAY_DIR);
    expect(overlay.resources).toEqual(['../../base']);
    const placeholder = only(base.kustomization.images ?? [], 'one image in the base').name;
    expect(overlay.images?.map((i) => i.name)).toEqual([placeholder]);
    for (const container of pods.flatMap((p) => p.pod.containers)) expect((container as Container & { image?: string }).image).toBe(placeholder);
    const generator = only(overlay.secretGenerator ?? [], 'one secretGenerator');
    expect(generator.behavior).toBe('replace');
    const secret = findObject(objects, 'Secret', generator.name);
    expect(secret, `the base has Secret ${generator.name}`).toBeDefined();
    const example = readEnvFile(join(OVERLAY_DIR, `${generator.envs?.[0] ?? ''}.example`));
    expect(Object.keys(example).sort()).toEqual(Object.keys((secret?.stringData ?? {}) as Record<string, string>).sort());
    // The example's values are of the right form, for every container that reads them.
    for (const entry of containers) {
      const withExample = Object.fromEntries(Object.entries(entry.env).map(([k, v]) => [k, example[k] ?? v]));
      expect(typeof loadContainerConfig(withExample), `${entry.workload.object.metadata.name} with the example secrets`).toBe('object');
    }
    for (const { target } of overlay.patches ?? []) expect(findObject(objects, target.kind, target.name), `${target.kind}/${target.name}`).toBeDefined();
    expect(readFileSync(join(OVERLAY_DIR, '.gitignore'), 'utf8')).toMatch(/^secrets\.env$/m);
  });
});

describe('every object', () => {
  it('is valid for its kind (kubernetes-models: types, required fields, formats)', () => {
    expect(typedProblems(objects)).toEqual([]);
  });

  it('has no field its kind does not define, at any depth (the strict pass)', () => {
    expect(strictProblems(objects)).toEqual([]);
  });

  it('the strict pass catches what the typed one lets through: `replicaz`, a misspelt container field', () => {
    const deployment = structuredClone(findObject(objects, 'Deployment', 'dispatcher') as Manifest);
    (deployment.spec as Record<string, unknown>).replicaz = 3;
    expect(typedProblems([deployment])).toEqual([]);
    expect(strictProblems([deployment]).join('\n')).toMatch(/Deployment\/dispatcher: .*'"?replicaz"?' does not exist/);
    const statefulSet = structuredClone(findObject(objects, 'StatefulSet', 'worker-gpu') as Manifest);
    const pod = (statefulSet.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec;
    (pod.containers[0] as Record<string, unknown>).imagePullPolicyy = 'Always';
    expect(strictProblems([statefulSet]).join('\n')).toMatch(/StatefulSet\/worker-gpu: .*imagePullPolicyy/);
    const scaledObject = structuredClone(findObject(objects, 'ScaledObject', 'worker-gpu') as Manifest);
    (scaledObject.spec as Record<string, unknown>).maxReplicas = 4;
    expect(strictProblems([scaledObject]).join('\n')).toMatch(/ScaledObject\/worker-gpu: .*maxReplicas/);
  });

  it('a Service, PodDisruptionBudget or ServiceMonitor selects pods or Services that exist', () => {
    const services = objects.filter((o) => o.kind === 'Service');
    for (const service of services) {
      const selector = (service.spec as { selector: Record<string, string> }).selector;
      expect(pods.filter((p) => labelsMatch(selector, p.podLabels)).length, `Service/${service.metadata.name}`).toBeGreaterThan(0);
    }
    for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
      const selector = (pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      expect(pods.filter((p) => labelsMatch(selector, p.podLabels)).map((p) => p.object.metadata.name), `PodDisruptionBudget/${pdb.metadata.name}`).toEqual([pdb.metadata.name]);
    }
    const monitor = only(objects.filter((o) => o.kind === 'ServiceMonitor'), 'one ServiceMonitor');
    const spec = monitor.spec as { jobLabel: string; selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
    const scraped = services.filter((s) => labelsMatch(spec.selector.matchLabels, s.metadata.labels ?? {}));
    // Each app's Service, with a port the monitor scrapes, and the `job` label the alerts use.
    expect(scraped.map((s) => s.metadata.labels?.[spec.jobLabel]).sort()).toEqual(['api', 'dispatcher', 'worker', 'worker']);
    for (const service of scraped) {
      const ports = (service.spec as { ports: { name: string }[] }).ports.map((p) => p.name);
      expect(spec.endpoints.filter((e) => ports.includes(e.port)).length, `Service/${service.metadata.name}`).toBe(1);
    }
    expect(spec.endpoints.every((e) => e.path === '/metrics')).toBe(true);
  });
});

describe('the environment', () => {
  it('every variable of every container is one the config schema knows, and each container’s config loads', () => {
    expect(containers.length).toBe(4);
    expect(containers.flatMap((c) => c.problems)).toEqual([]);
    for (const entry of containers) configOf(entry);
  });

  it('fails on a variable the schema does not know, and on a value it refuses', () => {
    const [first] = containers;
    if (first === undefined) throw new Error('no container');
    const container: Container = { ...first.container, env: [...(first.container.env ?? []), { name: 'SHUTDOWN_TIMEOUT', value: '1000' }] };
    expect(containerEnv(container, first.workload, objects).problems).toEqual([`${first.workload.object.kind}/${first.workload.object.metadata.name} container ${container.name}: SHUTDOWN_TIMEOUT (from value) is not in the config schema`]);
    expect(loadContainerConfig({ ...first.env, SCHED_POLICY: 'fastest' })).toMatch(/SCHED_POLICY/);
  });

  it('each container runs an app of this repository, reads a valid fleet file where FLEET_FILE points, and runs only its own worker', () => {
    for (const entry of containers) {
      const app = appOf(entry.container);
      expect(app, entry.container.name).not.toBeNull();
      expect(existsSync(join(REPO_ROOT, 'apps', app ?? '', 'src', 'main.ts')), `${app}`).toBe(true);
      const config = configOf(entry);
      const text = mountedFile(config.FLEET_FILE, entry.container, entry.workload.pod, objects);
      expect(typeof text, JSON.stringify(text)).toBe('string');
      const catalog = parseCatalog(JSON.parse(text as string), config.FLEET_FILE);
      if (app !== 'worker') continue;
      // A worker pod runs the worker named like itself: every pod KEDA may start must be in the fleet file, of its class.
      const cls = entry.workload.podLabels['sched.io/class'];
      expect(config.WORKER_IDS).toEqual([entry.workload.podName]);
      const scaled = scaledObjects().find((s) => (s.spec as ScaledObjectSpec).scaleTargetRef.name === entry.workload.object.metadata.name);
      const max = (scaled?.spec as ScaledObjectSpec | undefined)?.maxReplicaCount ?? 0;
      expect(max, `a ScaledObject for ${entry.workload.object.metadata.name}`).toBeGreaterThan(0);
      for (let i = 0; i < max; i++) {
        const id = `${entry.workload.object.metadata.name}-${i}`;
        expect(catalog.workers.find((w) => w.id === id)?.class, id).toBe(cls);
      }
    }
  });

  it('the grace period of every pod covers its drain deadline (SHUTDOWN_TIMEOUT_MS, default included) and runMain’s margin', () => {
    for (const entry of containers) {
      const config = configOf(entry);
      const graceMs = (entry.workload.pod.terminationGracePeriodSeconds ?? 30) * 1000;
      expect(graceMs, entry.workload.object.metadata.name).toBeGreaterThanOrEqual(config.SHUTDOWN_TIMEOUT_MS + RUN_MAIN_MARGIN_MS);
    }
  });
});

describe('probes', () => {
  /** The container port a probe targets (by name or number). */
  function probePort(container: Container, port: string | number): number {
    const found = typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
    expect(found, `port ${port} of ${container.name}`).toBeDefined();
    return found as number;
  }
  /** The port each app listens on, from its config. */
  function listenPort(app: string, config: Config): number {
    return app === 'api' ? config.API_PORT : app === 'dispatcher' ? config.DISPATCHER_METRICS_PORT : config.WORKER_METRICS_PORT;
  }

  it('every container has a liveness and a readiness probe on the port its app listens on', () => {
    for (const entry of containers) {
      const app = appOf(entry.container) ?? '';
      for (const probe of [entry.container.livenessProbe, entry.container.readinessProbe]) {
        expect(probe, `${app} probes`).toBeDefined();
        const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
        expect(port, `${app}: an httpGet or tcpSocket probe`).toBeDefined();
        expect(probePort(entry.container, port ?? ''), app).toBe(listenPort(app, configOf(entry)));
      }
    }
  });

  describe('against the running apps', () => {
    const ctx = useCluster(PRICED_FLEET);

    /** What each app serves in the local cluster, for the paths and sockets the probes use. */
    function address(app: string): { port: number } {
      const { cluster } = ctx;
      const port = app === 'api' ? Number(new URL(cluster.apiUrl).port) : app === 'dispatcher' ? cluster.dispatcher.metricsPort : cluster.workers.metricsPort;
      expect(port, app).toBeGreaterThan(0);
      return { port: port ?? 0 };
    }

    async function probeOnce(probe: Probe, port: number): Promise<boolean> {
      if (probe.httpGet) return (await fetch(`http://127.0.0.1:${port}${probe.httpGet.path}`)).status === 200;
      return await new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.end();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
    }

    it('every probe succeeds on the app it checks (the paths exist: /healthz, /readyz, /metrics)', async () => {
      for (const entry of containers) {
        const app = appOf(entry.container) ?? '';
        for (const probe of [entry.container.livenessProbe, entry.container.readinessProbe] as Probe[]) {
          expect(await probeOnce(probe, address(app).port), `${app} ${JSON.stringify(probe)}`).toBe(true);
        }
      }
      // And an unknown path would not pass: the check can fail.
      expect(await probeOnce({ httpGet: { path: '/ready', port: 0 } }, address('dispatcher').port)).toBe(false);
    });
  });
});

describe('KEDA', () => {
  const dispatcherRegistry = createRegistry('dispatcher');
  createDispatcherMetrics(dispatcherRegistry);
  const workerRegistry = createRegistry('worker');
  createWorkerMetrics(workerRegistry);
  const dispatcherMetrics = dispatcherRegistry.getMetricsAsArray().map((m) => m.name);
  const workerMetrics = workerRegistry.getMetricsAsArray().map((m) => m.name);
  const dir = mkdtempSync(join(tmpdir(), 'sched-keda-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('one ScaledObject per worker StatefulSet, within the workers its fleet file lists', () => {
    const statefulSets = objects.filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata.name);
    expect(scaledObjects().map((s) => (s.spec as ScaledObjectSpec).scaleTargetRef.name).sort()).toEqual(statefulSets.sort());
    for (const scaled of scaledObjects()) {
      const spec = scaled.spec as ScaledObjectSpec;
      expect(spec.scaleTargetRef).toMatchObject({ apiVersion: 'apps/v1', kind: 'StatefulSet' });
      expect(spec.minReplicaCount ?? 0, scaled.metadata.name).toBeGreaterThanOrEqual(1);
      expect(spec.maxReplicaCount ?? 0, scaled.metadata.name).toBeGreaterThan(spec.minReplicaCount ?? 0);
    }
  });

  it('each trigger is the Prometheus scaler with a server, a PromQL query that parses, and a positive threshold', () => {
    for (const scaled of scaledObjects()) {
      const trigger = only((scaled.spec as ScaledObjectSpec).triggers, `${scaled.metadata.name}: one trigger`);
      expect(trigger.type).toBe('prometheus');
      expect(trigger.metricType ?? 'AverageValue').toBe('AverageValue');
      const { serverAddress, query, threshold } = trigger.metadata;
      expect(new URL(serverAddress ?? '').protocol).toMatch(/^https?:$/);
      expect(Number(threshold)).toBeGreaterThan(0);
      // promtool parses the query offline, as an expression of a rule.
      const file = join(dir, `${scaled.metadata.name}.yml`);
      writeFileSync(file, YAML.stringify({ groups: [{ name: 'keda', rules: [{ record: 'keda:query', expr: query }] }] }));
      const run = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(run.status, `${query}: ${run.stdout}${run.stderr}`).toBe(0);
    }
  });

  it('each query names only metrics the apps export, takes the waiting jobs from the dispatchers with max(), and selects the class of its StatefulSet', () => {
    for (const scaled of scaledObjects()) {
      const query = (scaled.spec as ScaledObjectSpec).triggers[0]?.metadata.query ?? '';
      const named = [...query.matchAll(/\b(sched_[a-z0-9_]+)\b/g)].map((m) => m[1] ?? '');
      expect(named.length).toBeGreaterThan(0);
      for (const name of named) expect([...dispatcherMetrics, ...workerMetrics], name).toContain(name);
      expect(named).toContain('sched_waiting_jobs');
      expect(dispatcherMetrics).toContain('sched_waiting_jobs');
      // Every dispatcher exports the same value: a sum would count it once per dispatcher.
      expect(query).toMatch(/\bmax\s*\(\s*sched_waiting_jobs\b/);
      expect(query).not.toMatch(/\bsum\s*\(\s*sched_waiting_jobs\b/);
      const target = findObject(objects, 'StatefulSet', (scaled.spec as ScaledObjectSpec).scaleTargetRef.name) as Manifest;
      const cls = workloads([target])[0]?.podLabels['sched.io/class'];
      for (const selector of query.matchAll(/\{([^}]*)\}/g)) expect(selector[1]).toContain(`class="${cls}"`);
    }
  });
});

describe('monitoring', () => {
  it('the PrometheusRule holds exactly the groups of infra/prometheus/rules.yml and alerts.yml', () => {
    const rule = only(objects.filter((o) => o.kind === 'PrometheusRule'), 'one PrometheusRule');
    const groups = ['rules.yml', 'alerts.yml'].flatMap((f) => (YAML.parse(readFileSync(join(REPO_ROOT, 'infra', 'prometheus', f), 'utf8')) as { groups: unknown[] }).groups);
    expect((rule.spec as { groups: unknown[] }).groups).toEqual(groups);
  });
});
