import { describe, expect, it } from 'vitest';
import { LoadArgsError, parseLoadArgs } from '../src/index.js';
import { traceSchedule } from '../src/arrival-schedule.js';

describe('replay mode', () => {
  it('compresses the trace timestamps by --speed, starting at the first arrival', () => {
    const schedule = traceSchedule([1000, 1200, 3000], 20);
    expect(schedule.offsetsMs).toEqual([0, 10, 100]);
    expect(schedule.onLag).toBe('catch-up');
  });

  it('parses --trace, --speed and --limit, and requires a trace', () => {
    const args = parseLoadArgs(['replay', '--trace', 't.jsonl', '--speed', '20', '--limit', '100']);
    expect(args).toMatchObject({ mode: 'replay', trace: 't.jsonl', speed: 20, limit: 100 });
    expect(() => parseLoadArgs(['replay'])).toThrow(LoadArgsError);
    expect(() => parseLoadArgs(['burst', '--speed', '2'])).toThrow('--speed: applies to replay mode only');
    expect(() => parseLoadArgs(['replay', '--trace', 't', '--speed', '0'])).toThrow('--speed');
  });
});
