import { describe, expect, it } from 'vitest';
import { MAX_LONG_POLL_S } from '@sched/core';
import { preferenceApplied, submitPreference } from '../src/submit-preference.js';

describe('submitPreference: what POST /v1/jobs makes of Prefer', () => {
  it('waits a whole or decimal number of seconds, quoted or not', () => {
    expect(submitPreference('wait=10')).toEqual({ waitS: 10, respondAsync: false });
    expect(submitPreference('wait=2.5')).toEqual({ waitS: 2.5, respondAsync: false });
    expect(submitPreference('wait="0.25"')).toEqual({ waitS: 0.25, respondAsync: false });
    expect(submitPreference('wait=0.0015')).toEqual({ waitS: 0.002, respondAsync: false });
  });

  it(`clamps a wait above ${MAX_LONG_POLL_S} s to ${MAX_LONG_POLL_S} s`, () => {
    expect(submitPreference('wait=31').waitS).toBe(MAX_LONG_POLL_S);
    expect(submitPreference(`wait=${'9'.repeat(400)}`).waitS).toBe(MAX_LONG_POLL_S);
  });

  it('ignores a wait of 0, under a millisecond, or that is not a plain number', () => {
    for (const header of ['wait=0', 'wait=0.0004', 'wait=-1', 'wait=soon', 'wait=1e3', 'wait=0x10', 'wait=.5', 'wait=5.', 'wait=" 5"', 'wait', 'wait=""']) {
      expect(submitPreference(header), header).toEqual({ waitS: undefined, respondAsync: false });
    }
  });

  it('counts the first wait only, as RFC 7240 asks', () => {
    expect(submitPreference('wait=1, wait=2').waitS).toBe(1);
    expect(submitPreference('wait=soon, wait=2').waitS).toBeUndefined();
  });

  it('reads respond-async alone or with a wait, and ignores preferences it does not know', () => {
    expect(submitPreference('respond-async')).toEqual({ waitS: undefined, respondAsync: true });
    expect(submitPreference('Respond-Async, wait=3')).toEqual({ waitS: 3, respondAsync: true });
    expect(submitPreference('return=minimal, handling=strict')).toEqual({ waitS: undefined, respondAsync: false });
    expect(submitPreference(undefined)).toEqual({ waitS: undefined, respondAsync: false });
  });
});

describe('preferenceApplied: the Preference-Applied of each answer', () => {
  const none = submitPreference(undefined);
  const wait = submitPreference('wait=100');
  const async = submitPreference('respond-async');
  const both = submitPreference('respond-async, wait=2.5');

  it('names the wait used on the 200 and on the 202 after it', () => {
    expect(preferenceApplied(wait, 'finished')).toBe('wait=30');
    expect(preferenceApplied(wait, 'accepted')).toBe('wait=30');
  });

  it('names respond-async on a 202 only', () => {
    expect(preferenceApplied(async, 'accepted')).toBe('respond-async');
    expect(preferenceApplied(both, 'accepted')).toBe('respond-async, wait=2.5');
    expect(preferenceApplied(both, 'finished')).toBe('wait=2.5');
  });

  it('names no wait when it broke off, and nothing when nothing was asked', () => {
    expect(preferenceApplied(wait, 'interrupted')).toBeUndefined();
    expect(preferenceApplied(both, 'interrupted')).toBe('respond-async');
    expect(preferenceApplied(none, 'accepted')).toBeUndefined();
  });
});
