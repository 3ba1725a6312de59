import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAzureCsvTrace, parseJsonlTrace, TraceError } from '../src/index.js';

describe('trace readers', () => {
  it('reads JSONL arrivals with optional sizes, in time order', () => {
    const text = '{"t": 20, "model": "a"}\n\n{"t": 5, "model": "b", "size": {"inputTokens": 10, "outputTokens": 2}}\n';
    expect(parseJsonlTrace(text)).toEqual([
      { t: 5, model: 'b', size: { inputTokens: 10, outputTokens: 2 } },
      { t: 20, model: 'a' },
    ]);
  });

  it('names the line and field of a bad JSONL row', () => {
    expect(() => parseJsonlTrace('{"t": 1, "model": "a"}\n{"t": -1, "model": "a"}', 'x.jsonl')).toThrow(TraceError);
    expect(() => parseJsonlTrace('{"t": 1, "model": "a"}\n{"t": -1, "model": "a"}', 'x.jsonl')).toThrow(/^x\.jsonl:2: t: /);
    expect(() => parseJsonlTrace('nope')).toThrow(/trace:1: not valid JSON/);
  });

  it('reads the Azure CSV with sub-millisecond timestamps relative to the first row, every row as one model', () => {
    const text = 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,4808,10\n2023-11-16 18:17:04.0319600,3180,8\n';
    const rows = parseAzureCsvTrace(text, 'code');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual({ t: 0, model: 'code', size: { inputTokens: 4808, outputTokens: 10 } });
    expect(rows[1]?.t).toBeCloseTo(52, 6);
  });

  // The trace README says 8,818 requests; the file holds 8,819 data rows.
  it('reads the whole bundled Azure code trace (8,819 rows over about 57 minutes)', () => {
    const text = readFileSync(new URL('../../../traces/azure-llm-2023-code.csv', import.meta.url), 'utf8');
    const rows = parseAzureCsvTrace(text, 'code');
    expect(rows).toHaveLength(8819);
    const spanMin = (rows[rows.length - 1]?.t ?? 0) / 60_000;
    expect(spanMin).toBeGreaterThan(50);
    expect(spanMin).toBeLessThan(60);
  });

  it('rejects a CSV without the Azure columns', () => {
    expect(() => parseAzureCsvTrace('a,b\n1,2', 'm', 'bad.csv')).toThrow(/bad\.csv:1: missing column TIMESTAMP/);
  });
});
