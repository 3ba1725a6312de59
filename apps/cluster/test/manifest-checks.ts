import { dirname, join } from 'node:path';
import ts from 'typescript';
import { apps, policy, v1 } from 'kubernetes-models';
import { kedaSh } from '@kubernetes-models/keda';
import { monitoringCoreosCom } from '@kubernetes-models/prometheus-operator';
import { ConfigError, configSchema, loadConfig, type Config } from '@sched/core';
import { REPO_ROOT } from '@sched/testkit';
import { findObject, type Manifest } from './kustomize-tree.js';

/** A kubernetes-models class: built from a manifest, it checks it against the API's schema. */
interface ModelClass {
  new (data: never): { validate(): void };
}

/** Every kind the manifests may use: the typed model, and where its TypeScript interface is. */
const KINDS: Readonly<Record<string, { model: ModelClass; types: string }>> = {
  'v1/Namespace': { model: v1.Namespace, types: 'kubernetes-models/v1/Namespace' },
  'v1/ConfigMap': { model: v1.ConfigMap, types: 'kubernetes-models/v1/ConfigMap' },
  'v1/Secret': { model: v1.Secret, types: 'kubernetes-models/v1/Secret' },
  'v1/Service': { model: v1.Service, types: 'kubernetes-models/v1/Service' },
  'apps/v1/Deployment': { model: apps.v1.Deployment, types: 'kubernetes-models/apps/v1/Deployment' },
  'apps/v1/StatefulSet': { model: apps.v1.StatefulSet, types: 'kubernetes-models/apps/v1/StatefulSet' },
  'policy/v1/PodDisruptionBudget': { model: policy.v1.PodDisruptionBudget, types: 'kubernetes-models/policy/v1/PodDisruptionBudget' },
  'keda.sh/v1alpha1/ScaledObject': { model: kedaSh.v1alpha1.ScaledObject, types: '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject' },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    model: monitoringCoreosCom.v1.ServiceMonitor,
    types: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
  },
  'monitoring.coreos.com/v1/PrometheusRule': {
    model: monitoringCoreosCom.v1.PrometheusRule,
    types: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
  },
};

const kindOf = (doc: Manifest): string => `${doc.apiVersion}/${doc.kind}`;
const describe = (doc: Manifest): string => `${doc.kind}/${doc.metadata.name}`;

/** The typed pass: each object through its kubernetes-models class (types, required fields, formats). */
export function typedProblems(docs: readonly Manifest[]): string[] {
  const problems: string[] = [];
  for (const doc of docs) {
    const kind = KINDS[kindOf(doc)];
    if (kind === undefined) {
      problems.push(`${describe(doc)}: ${kindOf(doc)} is not a kind these checks know`);
      continue;
    }
    try {
      new kind.model(doc as never).validate();
    } catch (error) {
      problems.push(`${describe(doc)}: ${String(error)}`);
    }
  }
  return problems;
}

/**
 * The strict pass. kubernetes-models' validators accept unknown fields (`replicaz: 2` passes, as it
 * would through `kubectl apply` without server-side field validation), and no npm package here ships
 * the API's JSON schemas. Its TypeScript interfaces are generated from the same OpenAPI schemas, and
 * TypeScript rejects an object literal with a property its type lacks, at any depth. So each object
 * becomes `const doc: IKind = <its JSON>` in a program compiled in memory, and every diagnostic is a
 * problem: an unknown key, a misplaced one, a wrong type.
 */
export function strictProblems(docs: readonly Manifest[]): string[] {
  const file = join(REPO_ROOT, 'apps', 'cluster', 'test', '__k8s_manifests__.ts');
  const imports: string[] = [];
  const declarations: string[] = [];
  docs.forEach((doc, i) => {
    const kind = KINDS[kindOf(doc)];
    if (kind === undefined) return;
    imports.push(`import type { I${doc.kind} as T${i} } from '${kind.types}';`);
    declarations.push(`export const doc${i}: T${i} = ${JSON.stringify(doc, null, 1)};`);
  });
  // Which object each line of the program belongs to, to name it in a diagnostic.
  const lineOwner: string[] = imports.map(() => 'imports');
  docs.filter((doc) => KINDS[kindOf(doc)] !== undefined).forEach((doc, i) => {
    for (const _ of (declarations[i] ?? '').split('\n')) lineOwner.push(describe(doc));
  });
  const text = [...imports, ...declarations].join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, language, ...rest) => (name === file ? ts.createSourceFile(name, text, language) : getSourceFile(name, language, ...rest));
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const line = d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    const where = d.file?.fileName === file ? (lineOwner[line] ?? '?') : (d.file?.fileName ?? 'program');
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

/** A container of a workload's pod template, in the fields these checks read. */
export interface Container {
  name: string;
  args?: string[];
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  volumeMounts?: { name: string; mountPath: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
}
export interface Probe {
  httpGet?: { path: string; port: string | number };
  tcpSocket?: { port: string | number };
}
export interface PodSpec {
  terminationGracePeriodSeconds?: number;
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string } }[];
}
export interface Workload {
  readonly object: Manifest;
  readonly podLabels: Record<string, string>;
  readonly pod: PodSpec;
  /** A name one of its pods has (`metadata.name` through the downward API). */
  readonly podName: string;
}

/** Every Deployment and StatefulSet, with its pod template. */
export function workloads(objects: readonly Manifest[]): Workload[] {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
    .map((object) => {
      const template = (object.spec as { template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } }).template;
      const podName = object.kind === 'StatefulSet' ? `${object.metadata.name}-0` : `${object.metadata.name}-7d9f8b6c4-x2x9q`;
      return { object, podLabels: template.metadata?.labels ?? {}, pod: template.spec, podName };
    });
}

/** The image's apps (infra/image/apps.mjs): the image runs the one its `APP` variable names, and refuses arguments. */
const IMAGE_APPS = new Set(['api', 'dispatcher', 'worker']);

/** The app a container runs (its `APP`), or null when it names none the image has or passes arguments the image refuses. */
export function appOf(container: Container): string | null {
  if ((container.args ?? []).length > 0 || (container.command ?? []).length > 0) return null;
  const app = (container.env ?? []).find((v) => v.name === 'APP')?.value;
  return app !== undefined && IMAGE_APPS.has(app) ? app : null;
}

/** Keys of a ConfigMap's `data` or a Secret's `stringData`. */
function entriesOf(object: Manifest | undefined): Record<string, string> | undefined {
  if (object === undefined) return undefined;
  return (object.kind === 'Secret' ? object.stringData : object.data) as Record<string, string> | undefined;
}

/**
 * The environment a container starts with: `envFrom` maps, then `env` (which wins), each
 * reference resolved against the objects. Problems: a variable the config schema does not know
 * (`libs/core/src/config.ts`: the schema itself, not a copy of its names), a reference to nothing.
 */
export function containerEnv(container: Container, workload: Workload, objects: readonly Manifest[]): { env: Record<string, string>; problems: string[] } {
  // The config schema's variables, and the image's own `APP` (which app it runs).
  const known = new Set([...Object.keys(configSchema.shape), 'APP']);
  const env: Record<string, string> = {};
  const problems: string[] = [];
  const where = `${describe(workload.object)} container ${container.name}`;
  const add = (name: string, value: string | undefined, source: string): void => {
    if (!known.has(name)) problems.push(`${where}: ${name} (from ${source}) is not in the config schema`);
    if (value === undefined) problems.push(`${where}: ${name} refers to ${source}, which does not exist`);
    else env[name] = value;
  };
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const kind = from.configMapRef ? 'ConfigMap' : 'Secret';
    const entries = entriesOf(findObject(objects, kind, ref?.name ?? ''));
    if (entries === undefined) problems.push(`${where}: envFrom ${kind} ${ref?.name ?? '?'} does not exist`);
    for (const [name, value] of Object.entries(entries ?? {})) add(name, value, `${kind} ${ref?.name ?? '?'}`);
  }
  for (const variable of container.env ?? []) {
    const { secretKeyRef, configMapKeyRef, fieldRef } = variable.valueFrom ?? {};
    if (variable.value !== undefined) add(variable.name, variable.value, 'value');
    else if (secretKeyRef) add(variable.name, entriesOf(findObject(objects, 'Secret', secretKeyRef.name))?.[secretKeyRef.key], `Secret ${secretKeyRef.name} key ${secretKeyRef.key}`);
    else if (configMapKeyRef) add(variable.name, entriesOf(findObject(objects, 'ConfigMap', configMapKeyRef.name))?.[configMapKeyRef.key], `ConfigMap ${configMapKeyRef.name} key ${configMapKeyRef.key}`);
    else if (fieldRef?.fieldPath === 'metadata.name') add(variable.name, workload.podName, 'the pod name');
    else problems.push(`${where}: ${variable.name} has no value these checks can resolve`);
  }
  return { env, problems };
}

/** The container's config as the app would load it (`loadConfig`, the apps' one door), or the error it would exit with. */
export function loadContainerConfig(env: Record<string, string>): Config | string {
  try {
    return loadConfig(env);
  } catch (error) {
    return error instanceof ConfigError ? error.message : String(error);
  }
}

/** Where FLEET_FILE points, as the ConfigMap mounted there holds it: the file's text, or a problem. */
export function mountedFile(path: string, container: Container, pod: PodSpec, objects: readonly Manifest[]): string | { problem: string } {
  const mount = (container.volumeMounts ?? []).find((m) => m.mountPath === dirname(path));
  if (mount === undefined) return { problem: `nothing is mounted at ${dirname(path)}` };
  const configMap = pod.volumes?.find((v) => v.name === mount.name)?.configMap?.name;
  const text = entriesOf(findObject(objects, 'ConfigMap', configMap ?? ''))?.[path.slice(dirname(path).length + 1)];
  return text ?? { problem: `ConfigMap ${configMap ?? '?'} mounted at ${mount.mountPath} has no ${path}` };
}
