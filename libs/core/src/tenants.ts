import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, type Config } from './config.js';
import { describeFieldErrors, fieldErrorsOf } from './zod-issues.js';

/** What one API key may do and use. */
export interface TenantLimits {
  /** Requests per second (API_KEYS_FILE `rate`); absent: no per-key limit of its own. */
  readonly ratePerS?: number;
  /** Jobs not yet finished at once (`maxInFlight`); absent: no per-key limit of its own. */
  readonly maxInFlight?: number;
  /** Share of the fleet against other tenants of the same priority (`weight`). @defaultValue 1 */
  readonly weight: number;
}

/**
 * Who sent a request: one API key (its SHA-256 hex digest is the id, the same value that scopes
 * Idempotency-Keys and owns jobs), or `anonymous` when the server has no keys.
 */
export interface Tenant {
  readonly id: string;
  /** For people and metric labels: the file's `name`, `key-<n>` for the n-th of API_KEYS, `admin-<n>` for ADMIN_API_KEYS. */
  readonly name: string;
  /** May see and act on every tenant's jobs, and mutate queues on Bull Board. */
  readonly admin: boolean;
  readonly limits: TenantLimits;
}

export const ANONYMOUS_TENANT_ID = 'anonymous';

/** Every request when the server has no API keys: it owns the jobs it submits, and is no admin. */
export const ANONYMOUS_TENANT: Tenant = Object.freeze({ id: ANONYMOUS_TENANT_ID, name: ANONYMOUS_TENANT_ID, admin: false, limits: Object.freeze({ weight: 1 }) });

/** The id of the tenant an API key names: its SHA-256, hex. */
export function apiKeyDigest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The one visibility rule: a tenant sees its own jobs; an admin sees every job. */
export function canSeeJob(viewer: Pick<Tenant, 'id' | 'admin'>, owner: string): boolean {
  return viewer.admin || viewer.id === owner;
}

const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const tenantEntrySchema = z
  .strictObject({
    name: z.string({ error: 'expected a name' }).regex(TENANT_NAME, { error: 'expected 1-64 letters, digits, . _ - (a metric label)' }),
    key: z.string({ error: 'expected the key itself' }).min(16, { error: 'expected a key of at least 16 characters' }).optional(),
    keyHash: z
      .string({ error: 'expected a SHA-256 hex digest' })
      .regex(/^[0-9a-f]{64}$/, { error: 'expected the SHA-256 of the key, 64 lowercase hex digits' })
      .optional(),
    admin: z.boolean({ error: 'expected true or false' }).optional(),
    rate: z.number({ error: 'expected requests per second' }).positive({ error: 'expected a positive number of requests per second' }).optional(),
    maxInFlight: z.int({ error: 'expected a positive integer' }).positive({ error: 'expected a positive integer' }).optional(),
    weight: z.number({ error: 'expected a positive number' }).positive({ error: 'expected a positive number' }).default(1),
  })
  .refine((entry) => (entry.key === undefined) !== (entry.keyHash === undefined), { error: 'expected exactly one of key and keyHash' });

/** The API_KEYS_FILE: `{ keys: [{ name, keyHash | key, admin?, rate?, maxInFlight?, weight? }] }`, JSON or YAML. */
export const tenantsFileSchema = z.strictObject({ keys: z.array(tenantEntrySchema, { error: 'expected a list of keys' }) });
export type TenantsFile = z.infer<typeof tenantsFileSchema>;

/** Every configured key, looked up by its digest (a digest reveals nothing of a key through lookup timing). */
export interface TenantDirectory {
  /** False when no key is configured: every request is then the anonymous tenant. */
  readonly enabled: boolean;
  readonly tenants: readonly Tenant[];
  byDigest(digest: string): Tenant | undefined;
}

/**
 * Parses an API_KEYS_FILE's text (`.json` as JSON, anything else as YAML); `source` names the
 * file in errors. Throws a ConfigError naming API_KEYS_FILE, the file and the first bad field.
 */
export function parseTenantsFile(text: string, source: string): TenantsFile {
  let raw: unknown;
  try {
    raw = extname(source).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError('API_KEYS_FILE', `${source} is not valid ${extname(source).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  const parsed = tenantsFileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError('API_KEYS_FILE', `${source}: ${describeFieldErrors(fieldErrorsOf(parsed.error))}`);
  return parsed.data;
}

/** Reads and parses the file named by API_KEYS_FILE (see parseTenantsFile). */
export function readTenantsFile(path: string): TenantsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('API_KEYS_FILE', `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseTenantsFile(text, path);
}

/**
 * The tenants of API_KEYS (`key-1`, `key-2`, … in order), API_KEYS_FILE and ADMIN_API_KEYS (admins;
 * a key also listed elsewhere keeps that entry's name and limits, one listed nowhere else is
 * `admin-<n>`). A key or a name listed twice is a ConfigError. Every app that needs the keys (the
 * API; fair sharing's weights travel in each job's payload, so the dispatchers need none) reads them here.
 */
export function loadTenants(config: Pick<Config, 'API_KEYS' | 'API_KEYS_FILE' | 'ADMIN_API_KEYS'>, file?: TenantsFile): TenantDirectory {
  const entries = (file ?? (config.API_KEYS_FILE === undefined ? { keys: [] } : readTenantsFile(config.API_KEYS_FILE))).keys;
  const byDigest = new Map<string, Tenant>();
  const names = new Set<string>();
  const add = (variable: string, digest: string, tenant: Omit<Tenant, 'id'>): void => {
    if (byDigest.has(digest)) throw new ConfigError(variable, `key of ${tenant.name} is already configured (as ${byDigest.get(digest)?.name ?? '?'})`);
    if (names.has(tenant.name)) throw new ConfigError(variable, `two keys are named ${tenant.name}`);
    names.add(tenant.name);
    byDigest.set(digest, Object.freeze({ id: digest, ...tenant, limits: Object.freeze(tenant.limits) }));
  };
  const admins = new Set(config.ADMIN_API_KEYS.map(apiKeyDigest));
  for (const [i, key] of config.API_KEYS.entries()) {
    const digest = apiKeyDigest(key);
    add('API_KEYS', digest, { name: `key-${i + 1}`, admin: admins.has(digest), limits: { weight: 1 } });
  }
  for (const entry of entries) {
    const digest = entry.keyHash ?? apiKeyDigest(entry.key ?? '');
    const limits: TenantLimits = {
      weight: entry.weight,
      ...(entry.rate === undefined ? {} : { ratePerS: entry.rate }),
      ...(entry.maxInFlight === undefined ? {} : { maxInFlight: entry.maxInFlight }),
    };
    add('API_KEYS_FILE', digest, { name: entry.name, admin: entry.admin === true || admins.has(digest), limits });
  }
  let adminCount = 0;
  for (const digest of admins) {
    adminCount++;
    if (!byDigest.has(digest)) add('ADMIN_API_KEYS', digest, { name: `admin-${adminCount}`, admin: true, limits: { weight: 1 } });
  }
  const tenants = Object.freeze([...byDigest.values()]);
  return Object.freeze({ enabled: tenants.length > 0, tenants, byDigest: (digest: string) => byDigest.get(digest) });
}
