import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, apiKeyDigest, canSeeJob, decodeTerminalRecord, deriveOwnedJob, encodeTerminalRecord, loadConfig, loadTenants } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tenants-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const KEY_A = 'alpha-key-0123456789';
const KEY_B = 'bravo-key-0123456789';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadTenants', () => {
  it('names API_KEYS key-1, key-2, … and makes ADMIN_API_KEYS admins', () => {
    const directory = loadTenants(loadConfig({ API_KEYS: `${KEY_A},${KEY_B}`, ADMIN_API_KEYS: `${KEY_B},root-key-0123456789` }));
    expect(directory.enabled).toBe(true);
    expect(directory.tenants.map((t) => [t.name, t.admin])).toEqual([
      ['key-1', false],
      ['key-2', true],
      ['admin-2', true],
    ]);
    expect(directory.byDigest(apiKeyDigest(KEY_A))).toMatchObject({ id: apiKeyDigest(KEY_A), limits: { weight: 1 } });
    expect(loadTenants(loadConfig({})).enabled).toBe(false);
  });

  it('reads a JSON file with key hashes, limits and the admin role', () => {
    const path = file(
      'keys.json',
      JSON.stringify({
        keys: [
          { name: 'team-a', keyHash: apiKeyDigest(KEY_A), rate: 50, maxInFlight: 200, weight: 2 },
          { name: 'ops', key: KEY_B, admin: true },
        ],
      }),
    );
    const directory = loadTenants(loadConfig({ API_KEYS_FILE: path }));
    expect(directory.byDigest(apiKeyDigest(KEY_A))).toEqual({ id: apiKeyDigest(KEY_A), name: 'team-a', admin: false, limits: { weight: 2, ratePerS: 50, maxInFlight: 200 } });
    expect(directory.byDigest(apiKeyDigest(KEY_B))).toMatchObject({ name: 'ops', admin: true, limits: { weight: 1 } });
  });

  it('reads the same file as YAML', () => {
    const path = file('keys.yaml', `keys:\n  - name: team-a\n    keyHash: ${apiKeyDigest(KEY_A)}\n    weight: 3\n  - name: team-b\n    key: ${KEY_B}\n`);
    const directory = loadTenants(loadConfig({ API_KEYS_FILE: path, API_KEYS: 'legacy-key-0123456789' }));
    expect(directory.tenants.map((t) => t.name)).toEqual(['key-1', 'team-a', 'team-b']);
    expect(directory.byDigest(apiKeyDigest(KEY_A))?.limits.weight).toBe(3);
  });

  it('refuses a bad file with a ConfigError naming API_KEYS_FILE, the file and the field', () => {
    const cases: [string, string, RegExp][] = [
      ['missing.yaml', '', /cannot read/],
      ['broken.json', '{ "keys": [', /is not valid JSON/],
      ['broken.yaml', 'keys: [ {', /is not valid YAML/],
      ['no-key.yaml', 'keys:\n  - name: a\n', /keys\[0\]: expected exactly one of key and keyHash/],
      ['both.yaml', `keys:\n  - name: a\n    key: ${KEY_A}\n    keyHash: ${apiKeyDigest(KEY_A)}\n`, /exactly one of key and keyHash/],
      ['short.yaml', 'keys:\n  - name: a\n    key: short\n', /at least 16 characters/],
      ['hash.yaml', 'keys:\n  - name: a\n    keyHash: ABC\n', /64 lowercase hex digits/],
      ['weight.yaml', `keys:\n  - name: a\n    key: ${KEY_A}\n    weight: 0\n`, /weight: expected a positive number/],
      ['extra.yaml', `keys:\n  - name: a\n    key: ${KEY_A}\n    role: admin\n`, /role/],
      ['name.yaml', `keys:\n  - name: "a b"\n    key: ${KEY_A}\n`, /name: expected 1-64 letters/],
      ['twice.yaml', `keys:\n  - name: a\n    key: ${KEY_A}\n  - name: b\n    keyHash: ${apiKeyDigest(KEY_A)}\n`, /key of b is already configured \(as a\)/],
      ['names.yaml', `keys:\n  - name: a\n    key: ${KEY_A}\n  - name: a\n    key: ${KEY_B}\n`, /two keys are named a/],
    ];
    for (const [name, text, message] of cases) {
      const path = name === 'missing.yaml' ? join(dir, name) : file(name, text);
      const error = configError(() => loadTenants(loadConfig({ API_KEYS_FILE: path })));
      expect(error.variable, name).toBe('API_KEYS_FILE');
      expect(error.message, name).toMatch(message);
      if (name !== 'missing.yaml' && name !== 'twice.yaml' && name !== 'names.yaml') expect(error.message).toContain(path);
    }
    expect(configError(() => loadConfig({ ADMIN_API_KEYS: 'short' })).variable).toBe('ADMIN_API_KEYS');
  });
});

describe('canSeeJob', () => {
  it('shows a job to its owner and to admins only', () => {
    expect(canSeeJob({ id: 'a', admin: false }, 'a')).toBe(true);
    expect(canSeeJob({ id: 'b', admin: false }, 'a')).toBe(false);
    expect(canSeeJob({ id: 'root', admin: true }, 'a')).toBe(true);
  });
});

describe('owners of jobs written before owners were recorded', () => {
  it('reads them as anonymous, from a queue job and from a terminal record alike', () => {
    const legacy = JSON.stringify({ model: 'm', input: 1, priority: 'normal', createdAt: 1 });
    expect(deriveOwnedJob({ id: 'j', ingress: { data: legacy }, route: null, workerJob: {}, locked: false, workerClass: undefined })?.owner).toBe('anonymous');
    const owned = JSON.stringify({ model: 'm', input: 1, priority: 'normal', createdAt: 1, owner: 'abc' });
    expect(deriveOwnedJob({ id: 'j', ingress: { data: owned }, route: null, workerJob: {}, locked: false, workerClass: undefined })?.owner).toBe('abc');
    const view = { id: 'j', status: 'cancelled' as const, model: 'm', priority: 'normal' as const, attempts: 0, timings: { createdAt: new Date(1).toISOString() } };
    expect(decodeTerminalRecord(JSON.stringify(view))).toEqual({ view, owner: 'anonymous' });
    expect(decodeTerminalRecord(encodeTerminalRecord({ view, owner: 'abc' }))).toEqual({ view, owner: 'abc' });
  });
});
