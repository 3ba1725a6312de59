import { seededRng } from '@sched/core';
import { describe, expect, it } from 'vitest';
import { createModelMix, ModelMixError, modelPicker, parseModelMix } from '../src/index.js';

function errorOf(text: string): string {
  try {
    parseModelMix(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelMixError);
    // Every bad flag value of the simulator's CLI is a RangeError.
    expect(error).toBeInstanceOf(RangeError);
    return (error as ModelMixError).message;
  }
  throw new Error(`expected "${text}" to be refused`);
}

describe('parseModelMix (the one --mix grammar: model=weight[,model=weight...])', () => {
  it('normalises weights that sum to 1 and weights that do not alike', () => {
    const halves = [
      { model: 'resnet50', share: 0.5 },
      { model: 'bert-base', share: 0.5 },
    ];
    expect(parseModelMix('resnet50=0.5,bert-base=0.5')).toEqual(halves);
    expect(parseModelMix('resnet50=1,bert-base=1')).toEqual(halves);
    expect(parseModelMix('default=3,resnet50=1')).toEqual([
      { model: 'default', share: 0.75 },
      { model: 'resnet50', share: 0.25 },
    ]);
  });

  it('keeps the order given and allows spaces around names, = and commas', () => {
    expect(parseModelMix(' b = 1 , a=3 ').map((s) => s.model)).toEqual(['b', 'a']);
  });

  it('takes one model at weight 1 as every job of that model', () => {
    expect(parseModelMix('whisper-small=1')).toEqual([{ model: 'whisper-small', share: 1 }]);
  });

  it('returns a frozen mix', () => {
    const mix = parseModelMix('a=1,b=2');
    expect(Object.isFrozen(mix)).toBe(true);
    expect(Object.isFrozen(mix[0])).toBe(true);
  });

  it.each([
    ['resnet50', 'expected model=weight[,model=weight...], got "resnet50" (one model alone: resnet50=1)'],
    ['', 'expected model=weight[,model=weight...], got ""'],
    ['a=1,', 'expected model=weight[,model=weight...], got ""'],
    ['a=1 2', 'expected model=weight[,model=weight...], got "a=1 2"'],
    ['resnet50=0', 'weight of resnet50 must be a positive number, got "0"'],
    ['resnet50=-1', 'weight of resnet50 must be a positive number, got "-1"'],
    ['a=x', 'weight of a must be a positive number, got "x"'],
    ['a=Infinity', 'weight of a must be a positive number, got "Infinity"'],
    ['a=1,a=2', 'a is listed twice'],
    ['bad:name=1', '"bad:name" is not a model name'],
  ])('refuses %j: %s', (text, message) => {
    expect(errorOf(text)).toBe(message);
  });

  it("names the new form when given the simulator's former model:weight form", () => {
    expect(errorOf('default:3,resnet50:1')).toBe('"default:3" is the old model:weight form; write default=3 (model=weight[,model=weight...])');
    expect(errorOf('a=1,b:')).toBe('"b:" is the old model:weight form; write b=1 (model=weight[,model=weight...])');
  });
});

describe('createModelMix', () => {
  it('normalises a record of weights', () => {
    expect(createModelMix({ default: 9, nope: 1 })).toEqual([
      { model: 'default', share: 0.9 },
      { model: 'nope', share: 0.1 },
    ]);
  });

  it('refuses an empty mix and a weight that is not positive', () => {
    expect(() => createModelMix({})).toThrow(ModelMixError);
    expect(() => createModelMix({ a: 1, b: 0 })).toThrow('weight of b must be a positive number, got "0"');
  });
});

describe('modelPicker', () => {
  it('draws each model with its share, weights normalised', () => {
    const draws = Array.from({ length: 40_000 }, modelPicker(parseModelMix('a=6,b=3,c=1'), seededRng(9)));
    const shareOf = (model: string): number => draws.filter((m) => m === model).length / draws.length;
    expect(shareOf('a')).toBeCloseTo(0.6, 1);
    expect(shareOf('b')).toBeCloseTo(0.3, 1);
    expect(shareOf('c')).toBeCloseTo(0.1, 1);
  });

  it('draws the same models for the same seed', () => {
    const draw = (seed: number) => Array.from({ length: 100 }, modelPicker(parseModelMix('a=1,b=1'), seededRng(seed)));
    expect(draw(4)).toEqual(draw(4));
    expect(draw(4)).not.toEqual(draw(5));
  });

  it('gives the one model of a one-model mix without drawing from the stream', () => {
    let draws = 0;
    const pick = modelPicker(parseModelMix('default=1'), () => {
      draws++;
      return 0.5;
    });
    expect(new Set(Array.from({ length: 50 }, pick))).toEqual(new Set(['default']));
    expect(draws).toBe(0);
  });

  it('refuses an empty mix', () => {
    expect(() => modelPicker([], seededRng(1))).toThrow(ModelMixError);
  });
});
