import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPreferences, parsePrefer } from '../src/prefer-header.js';

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split('');
const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 12 });
/** Any text a quoted-string can carry: tab, space, visible ASCII (quotes and backslashes escaped) and obs-text. */
const text = fc.string({
  unit: fc.oneof(fc.constantFrom('\t', ' ', '"', '\\'), fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), fc.constantFrom('é', 'ÿ')),
  minLength: 1,
  maxLength: 16,
});
const ows = fc.constantFrom('', ' ', '\t', '  \t ');
/** Preferences as a server reads them: lower-case names, each once, a value or none. */
const preferences = fc
  .array(fc.tuple(token, fc.option(text, { nil: undefined })), { maxLength: 6 })
  .map((entries) => new Map(entries.map(([name, value]) => [name.toLowerCase(), value] as const).reverse()));

const parsed = (header: string | undefined): Record<string, string | undefined> => Object.fromEntries(parsePrefer(header));

describe('parsePrefer (RFC 7240 Prefer)', () => {
  it('reads a flag, a token value and a quoted value, names in lower case', () => {
    expect(parsed('respond-async')).toEqual({ 'respond-async': undefined });
    expect(parsed('wait=10')).toEqual({ wait: '10' });
    expect(parsed('Wait="10"')).toEqual({ wait: '10' });
    expect(parsed('Return=Minimal')).toEqual({ return: 'Minimal' });
    expect(parsed('x="a \\"quoted\\" \\\\ value, with a comma; and a semicolon"')).toEqual({ x: 'a "quoted" \\ value, with a comma; and a semicolon' });
  });

  it('reads several preferences, across header lines, with optional whitespace and parameters', () => {
    expect(parsed('respond-async, wait=10')).toEqual({ 'respond-async': undefined, wait: '10' });
    // Node joins repeated header lines with ", ".
    expect(parsed('respond-async, WAIT = 5 ;foo; bar = "baz, qux" ;,\thandling=lenient')).toEqual({
      'respond-async': undefined,
      wait: '5',
      handling: 'lenient',
    });
    expect(parsed(' , a,,b , ')).toEqual({ a: undefined, b: undefined });
  });

  it('keeps only the first of a repeated preference, even when it is malformed for its user', () => {
    expect(parsed('wait=1, wait=2')).toEqual({ wait: '1' });
    expect(parsed('wait=soon, WAIT=2')).toEqual({ wait: 'soon' });
  });

  it('reads an empty value as no value', () => {
    expect(parsed('wait=""')).toEqual({ wait: undefined });
  });

  it('skips an element that does not fit the grammar and keeps the others', () => {
    expect(parsed('wait=, respond-async')).toEqual({ 'respond-async': undefined });
    expect(parsed('wait=5 6, respond-async')).toEqual({ 'respond-async': undefined });
    expect(parsed('=5, wait=3')).toEqual({ wait: '3' });
    expect(parsed('wa it=5, x=1')).toEqual({ x: '1' });
    expect(parsed('wait=5;=x, x=1')).toEqual({ x: '1' });
    expect(parsed('wait="a"b, x="y,z", w=1')).toEqual({ x: 'y,z', w: '1' });
    expect(parsed('wait=ünïcode, x=1')).toEqual({ x: '1' });
  });

  it('gives up at an unclosed quote: the rest of the header is inside it', () => {
    expect(parsed('x=1, y="open, wait=5')).toEqual({ x: '1' });
  });

  it('reads nothing from no header or an empty one', () => {
    expect(parsed(undefined)).toEqual({});
    expect(parsed('')).toEqual({});
    expect(parsed(' \t ')).toEqual({});
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('a', '=', '"', '\\', ',', ';', ' ', '\t', '1') })), (header) => {
        expect(parsePrefer(header)).toBeInstanceOf(Map);
      }),
    );
  });

  it('reads back what formatPreferences writes', () => {
    fc.assert(
      fc.property(preferences, (written) => {
        expect(parsePrefer(formatPreferences(written))).toEqual(written);
      }),
    );
  });

  it('ignores whitespace around separators and the case of names', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(token, fc.option(token, { nil: undefined }), token, ows, ows, ows), { minLength: 1, maxLength: 5 }), (elements) => {
        const tight = elements.map(([name, value, param]) => `${name}${value === undefined ? '' : `=${value}`};${param}`).join(',');
        const loose = elements
          .map(([name, value, param, a, b, c]) => `${a}${name.toUpperCase()}${value === undefined ? '' : `${b}=${c}${value}`}${b};${c}${param}${a}`)
          .join(',');
        expect(parsePrefer(loose)).toEqual(parsePrefer(tight));
      }),
    );
  });

  it('reads the well-formed preferences around a malformed one', () => {
    const garbage = fc.string({ unit: fc.constantFrom('a', '=', ';', ' ', '\\', '1', 'é') }).map((s) => `=${s}`);
    fc.assert(
      fc.property(preferences, garbage, preferences, (before, broken, after) => {
        const header = [formatPreferences(before), broken, formatPreferences(after)].filter((part) => part !== '').join(', ');
        expect(parsePrefer(header)).toEqual(new Map([...after, ...before]));
      }),
    );
  });
});

describe('formatPreferences (RFC 7240 Preference-Applied)', () => {
  it('writes tokens bare and anything else quoted', () => {
    expect(formatPreferences(new Map([['wait', '30']]))).toBe('wait=30');
    expect(formatPreferences(new Map([['respond-async', undefined], ['wait', '2.5']]))).toBe('respond-async, wait=2.5');
    expect(formatPreferences(new Map([['x', 'a "b" c']]))).toBe('x="a \\"b\\" c"');
  });
});
