import { seededRng } from '@sched/core';
import { describe, expect, it } from 'vitest';
import { modelPicker, parseModelMix } from '../src/model-mix.js';

describe('parseModelMix', () => {
  it('normalises the weights into shares', () => {
    expect(parseModelMix('resnet50=3, bert-base=1')).toEqual([
      { model: 'resnet50', share: 0.75 },
      { model: 'bert-base', share: 0.25 },
    ]);
  });

  it('says what is wrong with a bad entry', () => {
    expect(() => parseModelMix('resnet50')).toThrow('expected model=weight');
    expect(() => parseModelMix('resnet50=0')).toThrow('weight of resnet50 must be a positive number');
    expect(() => parseModelMix('a=1,a=2')).toThrow('a is listed twice');
    expect(() => parseModelMix('bad:name=1')).toThrow('is not a model name');
  });
});

describe('modelPicker', () => {
  it('draws each model with its share', () => {
    const pick = modelPicker(parseModelMix('a=0.7,b=0.2,c=0.1'), seededRng(9));
    const counts = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const model = pick();
      counts.set(model, (counts.get(model) ?? 0) + 1);
    }
    expect((counts.get('a') ?? 0) / 20_000).toBeCloseTo(0.7, 1);
    expect((counts.get('b') ?? 0) / 20_000).toBeCloseTo(0.2, 1);
    expect((counts.get('c') ?? 0) / 20_000).toBeCloseTo(0.1, 1);
  });

  it('always gives the one model of a single-model mix', () => {
    const pick = modelPicker(parseModelMix('default=1'), seededRng(1));
    expect(new Set(Array.from({ length: 50 }, pick))).toEqual(new Set(['default']));
  });
});
