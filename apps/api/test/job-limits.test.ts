import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_LIMITS, parseCatalog, type JobBatchResult } from '@sched/core';
import { useApi } from './use-api.js';

// The API alone: refusals happen before a job exists, so no dispatcher or worker is needed.

const fleet = parseCatalog({
  models: {
    llm: { gpu: { p50Ms: 50, p99Ms: 50, decodeMsPerToken: 20 } },
    default: { gpu: { p50Ms: 5, p99Ms: 5 } },
  },
  limits: { llm: { maxInputTokens: 1000, maxOutputTokens: 200 } },
  workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }],
});
const ctx = useApi(fleet, { env: { MAX_INPUT_BYTES: '1024' } });

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
}

async function submit(body: unknown): Promise<{ status: number; type: string | null; body: unknown }> {
  const res = await fetch(`${ctx.cluster.apiUrl}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
}

describe('bounded jobs at submission', () => {
  it("refuses a size beyond the model's limits with 422 and the field that is over", async () => {
    const over = await submit({ model: 'llm', input: 'hi', size: { inputTokens: 1001, outputTokens: 10_000_000 } });
    expect(over.status).toBe(422);
    expect(over.type).toMatch(/^application\/problem\+json/);
    const problem = over.body as Problem;
    expect(problem.code).toBe('size_limit_exceeded');
    expect(problem.errors).toEqual([
      { path: 'size.inputTokens', message: 'at most 1000 for model "llm"' },
      { path: 'size.outputTokens', message: 'at most 200 for model "llm"' },
    ]);
    expect(problem.detail).toMatch(/GET \/v1\/models/);
    // At the limits exactly: accepted.
    expect((await submit({ model: 'llm', input: 'hi', size: { inputTokens: 1000, outputTokens: 200 } })).status).toBe(202);
  });

  it('applies the default limits to a model the fleet file gives none', async () => {
    const over = await submit({ model: 'default', input: 'hi', size: { inputTokens: 1, outputTokens: DEFAULT_MODEL_LIMITS.maxOutputTokens + 1 } });
    expect(over.status).toBe(422);
    expect((over.body as Problem).errors?.map((e) => e.path)).toEqual(['size.outputTokens']);
  });

  it('lists every model with its limits', async () => {
    const res = await fetch(`${ctx.cluster.apiUrl}/v1/models`);
    const { models } = (await res.json()) as { models: { name: string; limits: unknown }[] };
    expect(models.find((m) => m.name === 'llm')?.limits).toEqual({ maxInputTokens: 1000, maxOutputTokens: 200 });
    expect(models.find((m) => m.name === 'default')?.limits).toEqual(DEFAULT_MODEL_LIMITS);
  });

  it('refuses an input larger than MAX_INPUT_BYTES as JSON with 413, naming the limit', async () => {
    const big = await submit({ model: 'default', input: { text: 'x'.repeat(1100) } });
    expect(big.status).toBe(413);
    expect(big.type).toMatch(/^application\/problem\+json/);
    const problem = big.body as Problem;
    expect(problem.code).toBe('input_too_large');
    expect(problem.detail).toMatch(/^input is 1111 bytes as JSON; at most 1024 are accepted \(MAX_INPUT_BYTES\)$/);
    expect(problem.errors).toEqual([{ path: 'input', message: 'at most 1024 bytes as JSON' }]);
    expect((await submit({ model: 'default', input: { text: 'x'.repeat(900) } })).status).toBe(202);
  });

  it('refuses the same per item in a batch, accepting the others', async () => {
    const res = await fetch(`${ctx.cluster.apiUrl}/v1/jobs/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jobs: [
          { model: 'llm', input: 1, size: { inputTokens: 1, outputTokens: 201 } },
          { model: 'default', input: 'x'.repeat(2000) },
          { model: 'llm', input: 2, size: { inputTokens: 1, outputTokens: 1 } },
        ],
      }),
    });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as JobBatchResult;
    expect(results.map((r) => r.status)).toEqual([422, 413, 202]);
  });
});
