import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import YAML from 'yaml';

/** A Kubernetes object as written in a manifest. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The fields of kustomization.yaml this repository uses (a test fails on any other). */
export interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  configMapGenerator?: Generator[];
  secretGenerator?: Generator[];
  images?: { name: string; newName?: string; newTag?: string }[];
  patches?: { target: { group?: string; version?: string; kind: string; name: string }; patch: string }[];
}

export interface Generator {
  name: string;
  behavior?: 'create' | 'replace' | 'merge';
  envs?: string[];
  files?: string[];
}

export const KUSTOMIZATION_FIELDS = ['apiVersion', 'kind', 'namespace', 'resources', 'configMapGenerator', 'secretGenerator', 'images', 'patches'];

export function readKustomization(dir: string): Kustomization {
  return YAML.parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
}

/** Every document of a YAML file (a file may hold several, separated by `---`). */
export function readManifests(file: string): Manifest[] {
  return YAML.parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as Manifest;
  });
}

/** `KEY=value` lines, as kustomize reads an `envs` file (blank lines and `#` comments skipped). */
export function readEnvFile(file: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const text = line.trim();
    if (text === '' || text.startsWith('#')) continue;
    const eq = text.indexOf('=');
    if (eq <= 0) throw new Error(`${file}: not KEY=value: ${text}`);
    entries[text.slice(0, eq)] = text.slice(eq + 1);
  }
  return entries;
}

/** What a generator makes, by its name (kustomize adds a content hash to the name and rewrites the references; the checks use the plain name). */
export function generatedObject(dir: string, kind: 'ConfigMap' | 'Secret', generator: Generator): Manifest {
  const data: Record<string, string> = {};
  for (const env of generator.envs ?? []) Object.assign(data, readEnvFile(join(dir, env)));
  for (const file of generator.files ?? []) data[basename(file)] = readFileSync(join(dir, file), 'utf8');
  return { apiVersion: 'v1', kind, metadata: { name: generator.name }, [kind === 'Secret' ? 'stringData' : 'data']: data };
}

/** A base: its manifest files, and the objects they and its generators make. */
export interface KustomizeBase {
  readonly dir: string;
  readonly kustomization: Kustomization;
  /** Each resource file with its documents. */
  readonly files: ReadonlyMap<string, readonly Manifest[]>;
  /** Every object: the files' documents, then the generated ConfigMaps and Secrets. */
  readonly objects: readonly Manifest[];
}

export function readBase(dir: string): KustomizeBase {
  const kustomization = readKustomization(dir);
  const files = new Map<string, Manifest[]>();
  for (const resource of kustomization.resources ?? []) {
    const path = join(dir, resource);
    if (statSync(path).isDirectory()) throw new Error(`${resource}: a base lists files; an overlay lists bases`);
    files.set(resource, readManifests(path));
  }
  const generated = [
    ...(kustomization.configMapGenerator ?? []).map((g) => generatedObject(dir, 'ConfigMap', g)),
    ...(kustomization.secretGenerator ?? []).map((g) => generatedObject(dir, 'Secret', g)),
  ];
  return { dir, kustomization, files, objects: [...[...files.values()].flat(), ...generated] };
}

/** The YAML files in a folder (not kustomization.yaml), for the check that the base lists them all. */
export function yamlFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .sort();
}

export function findObject(objects: readonly Manifest[], kind: string, name: string): Manifest | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}
