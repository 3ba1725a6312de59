import { seededRng } from '@sched/core';
import { describe, expect, it } from 'vitest';
import { CliUsageError, parseCliOptions } from '../src/cli-options.js';
import { parseDeadlineMix, parsePriorityMix, sampleDeadline, samplePriority } from '../src/index.js';

describe('--priority-mix', () => {
  it('reads priority=weight pairs and normalises the weights', () => {
    expect(parsePriorityMix('high=0.1,normal=0.8,low=0.1')).toEqual({ priorities: ['high', 'normal', 'low'], cumulative: [0.1, 0.9, 1] });
    expect(parsePriorityMix('low=1, high=1')).toEqual({ priorities: ['high', 'low'], cumulative: [0.5, 1] });
    expect(parsePriorityMix('high=0,normal=3')).toEqual({ priorities: ['normal'], cumulative: [1] });
  });

  it('refuses a bad mix with a message that names the problem', () => {
    expect(() => parsePriorityMix('urgent=1')).toThrow('expected priority=weight with a priority of high, normal, low, got "urgent"');
    expect(() => parsePriorityMix('high')).toThrow('expected a weight ≥ 0 for "high", got ""');
    expect(() => parsePriorityMix('high=-1')).toThrow('expected a weight ≥ 0 for "high", got "-1"');
    expect(() => parsePriorityMix('high=1,high=2')).toThrow('priority "high" is given twice');
    expect(() => parsePriorityMix('high=0,low=0')).toThrow('the weights add up to 0');
  });

  it('samples each priority at its share', () => {
    const mix = parsePriorityMix('high=1,normal=2,low=1');
    const rng = seededRng(1);
    const counts = { high: 0, normal: 0, low: 0 };
    for (let i = 0; i < 40_000; i++) counts[samplePriority(mix, rng)]++;
    expect(counts.high / 40_000).toBeCloseTo(0.25, 1);
    expect(counts.normal / 40_000).toBeCloseTo(0.5, 1);
  });
});

describe('--deadline-ms', () => {
  it('reads one deadline for every job, or deadlines for fractions of the jobs', () => {
    expect(parseDeadlineMix('500')).toEqual({ deadlinesMs: [500], cumulative: [1] });
    expect(parseDeadlineMix('500=0.2,2000=0.3')).toEqual({ deadlinesMs: [500, 2000], cumulative: [0.2, 0.5] });
  });

  it('refuses a bad value with a message that names the problem', () => {
    expect(() => parseDeadlineMix('soon')).toThrow('expected a deadline in ms > 0, got "soon"');
    expect(() => parseDeadlineMix('0')).toThrow('expected a deadline in ms > 0, got "0"');
    expect(() => parseDeadlineMix('500=0')).toThrow('expected the fraction of jobs with a 500 ms deadline in (0, 1], got "0"');
    expect(() => parseDeadlineMix('500=1.5')).toThrow('in (0, 1], got "1.5"');
    expect(() => parseDeadlineMix('500,2000')).toThrow('give each deadline its fraction of the jobs');
    expect(() => parseDeadlineMix('500=0.6,2000=0.6')).toThrow('the fractions add up to 1.2, more than 1');
    expect(() => parseDeadlineMix('500=0.1,500=0.2')).toThrow('deadline 500 ms is given twice');
  });

  it('gives a job a deadline at its fraction, none to the rest', () => {
    const mix = parseDeadlineMix('500=0.2,2000=0.3');
    const rng = seededRng(2);
    const counts = new Map<number | undefined, number>();
    for (let i = 0; i < 40_000; i++) {
      const d = sampleDeadline(mix, rng);
      counts.set(d, (counts.get(d) ?? 0) + 1);
    }
    expect((counts.get(500) ?? 0) / 40_000).toBeCloseTo(0.2, 1);
    expect((counts.get(2000) ?? 0) / 40_000).toBeCloseTo(0.3, 1);
    expect((counts.get(undefined) ?? 0) / 40_000).toBeCloseTo(0.5, 1);
  });
});

describe('the simulator command line', () => {
  it('takes --priority-mix, --deadline-ms and --max-held', () => {
    const options = parseCliOptions(['--priority-mix', 'high=1,low=1', '--deadline-ms', '800', '--max-held', '56']);
    expect(options.priorityMix?.priorities).toEqual(['high', 'low']);
    expect(options.deadlines?.deadlinesMs).toEqual([800]);
    expect(options.maxHeld).toBe(56);
    const none = parseCliOptions([]);
    expect([none.priorityMix, none.deadlines, none.maxHeld]).toEqual([undefined, undefined, undefined]);
  });

  it('names the flag in every usage error', () => {
    expect(() => parseCliOptions(['--priority-mix', 'top=1'])).toThrow(new CliUsageError('--priority-mix: expected priority=weight with a priority of high, normal, low, got "top"'));
    expect(() => parseCliOptions(['--deadline-ms=-5'])).toThrow(/^--deadline-ms: expected a deadline in ms > 0/);
    expect(() => parseCliOptions(['--max-held', '0'])).toThrow('--max-held: expected a positive integer, got "0"');
  });
});
