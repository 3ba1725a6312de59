import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_LIMITS, FleetFileError, bundledFleetPath, loadCatalog, modelLimits, parseCatalog } from '../src/index.js';

const models = { default: { gpu: { p50Ms: 50, p99Ms: 80 }, cpu: { p50Ms: 200, p99Ms: 300 } } };

function problemsOf(raw: unknown): readonly string[] {
  try {
    parseCatalog(raw, 'fleet.json');
  } catch (error) {
    if (error instanceof FleetFileError) return error.problems;
    throw error;
  }
  throw new Error('expected the fleet to be rejected');
}

describe('the fleet file', () => {
  it('names the exact field of every problem', () => {
    const workers = [
      { id: 'gpu-0', class: 'gpu', slots: 1 },
      { id: 'gpu-1', class: 'gpu', slots: 1 },
      { id: 'cpu-0', class: 'cpu', slots: 0 },
    ];
    expect(problemsOf({ models, workers })).toEqual(['workers[2].slots: expected a positive integer']);
    expect(problemsOf({ models, workers: [{ id: 'a:b', class: 'gpu', slots: 1 }] })[0]).toMatch(/^workers\[0\]\.id: /);
    expect(problemsOf({ models: { default: { gpu: { p50Ms: 90, p99Ms: 50 } } }, workers })).toContain('models.default.gpu.p99Ms: p99Ms must be ≥ p50Ms');
  });

  it('rejects unknown models, models without a latency for the class, duplicates and unknown fields', () => {
    expect(problemsOf({ models, workers: [{ id: 'x', class: 'gpu', slots: 1, models: ['nope'] }] })).toEqual([
      'workers[0].models[0]: unknown model "nope"',
    ]);
    expect(problemsOf({ models, workers: [{ id: 'x', class: 'tpu', slots: 1 }] })).toEqual([
      'workers[0].class: no model has a latency for class "tpu"',
    ]);
    expect(
      problemsOf({
        models,
        workers: [
          { id: 'x', class: 'gpu', slots: 1 },
          { id: 'x', class: 'cpu', slots: 1 },
        ],
      }),
    ).toEqual(['workers[1].id: duplicate worker id "x"']);
    expect(problemsOf({ models, workers: [{ id: 'x', class: 'gpu', slots: 1, speed: 3 }] })).toEqual(['workers[0].speed: unknown field']);
  });

  it('resolves each worker to the models with a latency for its class', () => {
    const fleet = parseCatalog({
      models: { ...models, 'llama-8b': { gpu: { p50Ms: 400, p99Ms: 900 } } },
      workers: [
        { id: 'g', class: 'gpu', slots: 2 },
        { id: 'c', class: 'cpu', slots: 1 },
      ],
    });
    expect(fleet.workers.map((w) => w.models)).toEqual([['default', 'llama-8b'], ['default']]);
  });

  it('ships a default fleet of 2 gpu × 4 slots and 4 cpu × 2 slots with a gpu-only llama-8b', () => {
    const fleet = loadCatalog(bundledFleetPath('default'));
    expect(fleet.workers.map((w) => `${w.class}×${w.slots}`)).toEqual(['gpu×4', 'gpu×4', 'cpu×2', 'cpu×2', 'cpu×2', 'cpu×2']);
    expect(Object.keys(fleet.models)).toEqual(expect.arrayContaining(['default', 'resnet50', 'bert-base', 'whisper-small', 'llama-8b']));
    expect(Object.keys(fleet.models['llama-8b'] ?? {})).toEqual(['gpu']);
    for (const name of ['prototype', 'heterogeneous'] as const) expect(loadCatalog(bundledFleetPath(name)).workers.length).toBeGreaterThan(0);
  });

  it("caps each model's job size: the fleet file's limits, defaults for the rest", () => {
    const fleet = parseCatalog({
      models: { ...models, 'llama-8b': { gpu: { p50Ms: 400, p99Ms: 900 } } },
      limits: { 'llama-8b': { maxOutputTokens: 2048 } },
      workers: [{ id: 'g', class: 'gpu', slots: 1 }],
    });
    expect(modelLimits(fleet, 'llama-8b')).toEqual({ maxInputTokens: DEFAULT_MODEL_LIMITS.maxInputTokens, maxOutputTokens: 2048 });
    expect(modelLimits(fleet, 'default')).toEqual(DEFAULT_MODEL_LIMITS);
    expect(problemsOf({ models, limits: { nope: { maxInputTokens: 1 } }, workers: [{ id: 'g', class: 'gpu', slots: 1 }] })).toEqual([
      'limits.nope: unknown model "nope"',
    ]);
    expect(problemsOf({ models, limits: { default: { maxOutputTokens: 0 } }, workers: [{ id: 'g', class: 'gpu', slots: 1 }] })).toEqual([
      'limits.default.maxOutputTokens: expected a positive integer',
    ]);
    // The bundled fleet bounds llama-8b: 10,000,000 output tokens (≈ 55 h on a gpu slot) is refused at submission.
    expect(modelLimits(loadCatalog(bundledFleetPath('default')), 'llama-8b')).toEqual({ maxInputTokens: 8192, maxOutputTokens: 2048 });
  });

  it('reports an unreadable or malformed file in one line', () => {
    expect(() => loadCatalog('/nonexistent/fleet.json')).toThrow('/nonexistent/fleet.json: cannot read file (ENOENT)');
  });
});
