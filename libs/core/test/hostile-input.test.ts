import { describe, expect, it } from 'vitest';
import { MAX_INPUT_DEPTH, hasModel, jobRequestSchema, latestStartAt, modelLatency, nestedDeeperThan, ownEntry, parseCatalog } from '../src/index.js';

const catalog = parseCatalog({
  models: { default: { gpu: { p50Ms: 50, p99Ms: 50 } } },
  workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }],
});

/** `levels` arrays, one inside the other, around a number. */
const nested = (levels: number): unknown => JSON.parse('['.repeat(levels) + '1' + ']'.repeat(levels));

describe('names inherited from Object.prototype are not catalog entries', () => {
  it.each(['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'])('%s is no model and no class', (name) => {
    expect(hasModel(catalog.models, name)).toBe(false);
    expect(modelLatency(catalog.models, name, 'gpu')).toBeUndefined();
    expect(modelLatency(catalog.models, 'default', name)).toBeUndefined();
    expect(ownEntry({ a: 1 }, name)).toBeUndefined();
  });

  it('finds what the catalog does have', () => {
    expect(hasModel(catalog.models, 'default')).toBe(true);
    expect(modelLatency(catalog.models, 'default', 'gpu')).toMatchObject({ p50Ms: 50 });
  });

  it('gives a job of an unknown model or class no service time in its latest start', () => {
    expect(latestStartAt(catalog.models, { model: 'constructor', deadlineMs: 1000, createdAt: 0 })).toBe(1000);
    expect(latestStartAt(catalog.models, { model: 'default', deadlineMs: 1000, createdAt: 0 }, 'toString')).toBe(950);
  });
});

describe('input depth', () => {
  it('measures nesting of arrays and objects without recursion', () => {
    expect(nestedDeeperThan(1, 0)).toBe(false);
    expect(nestedDeeperThan({ a: 1 }, 0)).toBe(true);
    expect(nestedDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: [{ b: 1 }] }, 2)).toBe(true);
    expect(nestedDeeperThan(nested(1_000_000), 64)).toBe(true);
  });

  it(`caps a job's input at ${MAX_INPUT_DEPTH} levels in the request schema, naming the field`, () => {
    expect(jobRequestSchema.safeParse({ model: 'default', input: nested(MAX_INPUT_DEPTH) }).success).toBe(true);
    const refused = jobRequestSchema.safeParse({ model: 'default', input: nested(MAX_INPUT_DEPTH + 1) });
    expect(refused.error?.issues).toEqual([expect.objectContaining({ path: ['input'], message: `nested deeper than ${MAX_INPUT_DEPTH} levels of arrays and objects` })]);
  });
});
