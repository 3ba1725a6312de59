import { jobSizeSchema, MODEL_NAME_PATTERN, type JobSize } from '@sched/core';
import { z } from 'zod';

/** One arrival of a trace: `t` ms from the start of the trace. */
export interface TraceArrival {
  readonly t: number;
  readonly model: string;
  readonly size?: JobSize;
}

export class TraceError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${source}:${line}: ${problem}`);
    this.name = 'TraceError';
  }
}

const jsonlRowSchema = z.strictObject({
  t: z.number({ error: 'expected t, a number of milliseconds ≥ 0' }).nonnegative({ error: 'expected t ≥ 0' }),
  model: z.string({ error: 'expected a model name' }).regex(MODEL_NAME_PATTERN, { error: 'expected a model name' }),
  size: jobSizeSchema.optional(),
});

function byTime(a: TraceArrival, b: TraceArrival): number {
  return a.t - b.t;
}

/** `{"t": ms, "model": name, "size"?: {inputTokens, outputTokens}}` per line; blank lines are skipped. */
export function parseJsonlTrace(text: string, source = 'trace'): TraceArrival[] {
  const arrivals: TraceArrival[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw new TraceError(source, i + 1, 'not valid JSON');
    }
    const row = jsonlRowSchema.safeParse(raw);
    if (!row.success) {
      const issue = row.error.issues[0];
      throw new TraceError(source, i + 1, `${issue?.path.join('.') || '(row)'}: ${issue?.message ?? 'invalid'}`);
    }
    arrivals.push(row.data.size === undefined ? { t: row.data.t, model: row.data.model } : row.data);
  });
  return arrivals.sort(byTime);
}

const AZURE_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/;

/** "2023-11-16 18:17:03.9799600" (UTC, 7 fractional digits) → epoch ms with the fraction kept. */
function parseAzureTimestamp(text: string): number | null {
  const m = AZURE_TIMESTAMP.exec(text.trim());
  if (m === null) return null;
  const [, y, mo, d, h, mi, s, frac = ''] = m;
  const whole = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  return whole + (frac === '' ? 0 : Number(`0.${frac}`) * 1000);
}

/**
 * The Azure LLM inference trace (`TIMESTAMP,ContextTokens,GeneratedTokens`).
 * It has no model column, so every row becomes a job of `model`; `t` is
 * relative to the first arrival.
 */
export function parseAzureCsvTrace(text: string, model: string, source = 'trace'): TraceArrival[] {
  const lines = text.split(/\r?\n/);
  const header = lines[0]?.split(',').map((c) => c.trim()) ?? [];
  const col = (name: string): number => {
    const at = header.indexOf(name);
    if (at < 0) throw new TraceError(source, 1, `missing column ${name}`);
    return at;
  };
  const [tsCol, inCol, outCol] = [col('TIMESTAMP'), col('ContextTokens'), col('GeneratedTokens')];
  const rows: { at: number; size: JobSize }[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '') continue;
    const cells = line.split(',');
    const at = parseAzureTimestamp(cells[tsCol] ?? '');
    const inputTokens = Number(cells[inCol]);
    const outputTokens = Number(cells[outCol]);
    if (at === null) throw new TraceError(source, i + 1, 'TIMESTAMP: expected YYYY-MM-DD HH:MM:SS.fffffff');
    if (!Number.isInteger(inputTokens) || inputTokens < 0 || !Number.isInteger(outputTokens) || outputTokens < 0) {
      throw new TraceError(source, i + 1, 'ContextTokens/GeneratedTokens: expected non-negative integers');
    }
    rows.push({ at, size: { inputTokens, outputTokens } });
  }
  rows.sort((a, b) => a.at - b.at);
  const start = rows[0]?.at ?? 0;
  return rows.map((row) => ({ t: row.at - start, model, size: row.size }));
}
