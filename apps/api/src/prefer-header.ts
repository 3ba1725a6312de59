/**
 * The `Prefer` request header and the `Preference-Applied` response header of RFC 7240:
 *
 *     Prefer             = 1#preference
 *     preference         = token [ BWS "=" BWS word ] *( OWS ";" [ OWS parameter ] )
 *     parameter          = token [ BWS "=" BWS word ]
 *     Preference-Applied = 1#applied-pref
 *     applied-pref       = token [ BWS "=" BWS word ]
 *     word               = token / quoted-string
 *
 * Written here rather than taken from npm: the one RFC 7240 parser there (`parse-prefer-header`,
 * a single 2016 release) camel-cases the names and does not unescape quoted strings.
 */

/** A preference's name (lower case) and its value, unquoted; undefined when it has none. */
export type Preferences = ReadonlyMap<string, string | undefined>;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const TOKEN_AT = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
// qdtext / quoted-pair (RFC 9110 §5.6.4); header text reaches Node as latin-1, hence \x80-\xff (obs-text).
const QUOTED_AT = /"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x20-\x7e\x80-\xff])*)"/y;
const OWS_AT = /[ \t]*/y;
/** Up to the next comma outside a quoted string (an unclosed one runs to the end): what a malformed element spans. */
const ELEMENT_AT = /(?:[^",]|"(?:[^"\\]|\\(?:[^]|$))*(?:"|$))*/y;

/**
 * The preferences of a `Prefer` header (several header lines arrive joined with commas). Lenient
 * where the RFC asks it to be (§2): names are case-insensitive; an empty value is no value; only
 * the first of a repeated preference counts; parameters are read and dropped (no preference this
 * API honours has any); and a list element that does not fit the grammar is skipped while the
 * others still count, since a server SHOULD ignore what it does not understand.
 */
export function parsePrefer(header: string | undefined): Preferences {
  const found = new Map<string, string | undefined>();
  if (header === undefined) return found;
  const cursor = new Cursor(header);
  while (!cursor.done) {
    const start = cursor.position;
    const preference = cursor.preference();
    if (preference === null) cursor.skipElement(start);
    else if (preference !== undefined && !found.has(preference.name)) found.set(preference.name, preference.value);
    cursor.skip(',');
  }
  return found;
}

/** A `Preference-Applied` value: each name with its value, quoted when it is not a token. */
export function formatPreferences(applied: Preferences): string {
  return [...applied].map(([name, value]) => (value === undefined ? name : `${name}=${TOKEN.test(value) ? value : quote(value)}`)).join(', ');
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** A position in a header value, read left to right. */
class Cursor {
  position = 0;

  constructor(private readonly text: string) {}

  get done(): boolean {
    return this.position >= this.text.length;
  }

  /** One list element: null when it does not fit the grammar, undefined when it is empty (`a, , b`). */
  preference(): { name: string; value: string | undefined } | null | undefined {
    this.ows();
    if (this.done || this.at(',')) return undefined;
    const name = this.match(TOKEN_AT);
    if (name === null) return null;
    const value = this.value();
    if (value === null) return null;
    for (;;) {
      this.ows();
      if (!this.skip(';')) break;
      this.ows();
      if (this.match(TOKEN_AT) !== null && this.value() === null) return null;
    }
    this.ows();
    if (!this.done && !this.at(',')) return null;
    return { name: name.toLowerCase(), value: value === '' ? undefined : value };
  }

  /** Moves past the element that starts at `start` (up to its comma), for one that did not parse. */
  skipElement(start: number): void {
    this.position = start;
    this.match(ELEMENT_AT);
  }

  skip(char: string): boolean {
    if (!this.at(char)) return false;
    this.position++;
    return true;
  }

  /** `[ BWS "=" BWS word ]`: the word, '' without one, null for an `=` with no word after it. */
  private value(): string | null {
    const before = this.position;
    this.ows();
    if (!this.skip('=')) {
      this.position = before;
      return '';
    }
    this.ows();
    if (this.at('"')) {
      const quoted = this.match(QUOTED_AT, 1);
      return quoted === null ? null : quoted.replace(/\\([^])/g, '$1');
    }
    return this.match(TOKEN_AT);
  }

  private at(char: string): boolean {
    return this.text[this.position] === char;
  }

  private ows(): void {
    this.match(OWS_AT);
  }

  private match(pattern: RegExp, group = 0): string | null {
    pattern.lastIndex = this.position;
    const found = pattern.exec(this.text);
    if (found === null) return null;
    this.position = pattern.lastIndex;
    return found[group] ?? '';
  }
}
