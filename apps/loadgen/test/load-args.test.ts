import { describe, expect, it } from 'vitest';
import { LoadArgsError, parseLoadArgs, type LoadArgs } from '../src/load-args.js';

function parse(argv: string[], env: Record<string, string> = {}): LoadArgs {
  const args = parseLoadArgs(argv, env);
  if (args === 'help') throw new Error('unexpected help');
  return args;
}

function errorOf(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseLoadArgs(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(LoadArgsError);
    return (error as LoadArgsError).message;
  }
  throw new Error('expected an argument error');
}

describe('parseLoadArgs', () => {
  it("defaults burst to the prototype client's 500 jobs, 80 ms apart, 30 outstanding", () => {
    expect(parse(['burst'])).toMatchObject({
      mode: 'burst',
      url: 'http://127.0.0.1:8080',
      mix: [{ model: 'default', share: 1 }],
      priority: undefined,
      json: false,
      count: 500,
      spacingMs: 80,
      maxOutstanding: 30,
      timeoutS: 60,
      seed: 1,
      batch: 1,
    });
  });

  it('takes --batch up to 1000 and no larger than --max-outstanding', () => {
    expect(parse(['open', '--batch', '100', '--max-outstanding', '1000'])).toMatchObject({ batch: 100, maxOutstanding: 1000 });
    expect(() => parse(['burst', '--batch', '31'])).toThrow('--batch: a batch of 31 needs --max-outstanding of at least 31, got 30');
    expect(() => parse(['open', '--batch', '1001', '--max-outstanding', '5000'])).toThrow('--batch: expected at most 1000');
    expect(() => parse(['open', '--batch', '0'])).toThrow('--batch: expected a positive integer');
  });

  it('reads open-mode flags and the URL and key from the environment', () => {
    const args = parse(['open', '--rate', '500', '--duration', '30', '--seed', '9', '--json', '--priority', 'high'], {
      API_URL: 'http://10.1.2.3:9000',
      API_KEY: 'k1',
    });
    expect(args).toMatchObject({ mode: 'open', ratePerS: 500, durationS: 30, seed: 9, json: true, priority: 'high' });
    expect(args).toMatchObject({ url: 'http://10.1.2.3:9000', apiKey: 'k1', maxOutstanding: 1000 });
  });

  it('prefers --url and --api-key over the environment, and takes a --mix', () => {
    const args = parse(['burst', '--url', 'http://127.0.0.1:9', '--api-key', 'k2', '--mix', 'resnet50=1,bert-base=1'], {
      API_URL: 'http://elsewhere:1',
      API_KEY: 'k1',
    });
    expect(args.url).toBe('http://127.0.0.1:9');
    expect(args.apiKey).toBe('k2');
    expect(args.mix.map((m) => m.model)).toEqual(['resnet50', 'bert-base']);
  });

  it('answers help for -h and --help', () => {
    expect(parseLoadArgs(['-h'])).toBe('help');
    expect(parseLoadArgs(['open', '--help'])).toBe('help');
  });

  it.each([
    [[], 'mode: expected one of burst, open, replay (see --help)'],
    [['closed'], 'mode: expected one of burst, open, replay, got "closed"'],
    [['burst', 'extra'], 'arguments: unexpected "extra" after the mode'],
    [['burst', '--frobnicate'], '--frobnicate: unknown flag (see --help)'],
    [['burst', '--count'], '--count: expected a value'],
    [['burst', '--json=yes'], '--json: takes no value'],
    [['burst', '--count', '0'], '--count: expected a positive integer, got "0"'],
    [['burst', '--count', '2.5'], '--count: expected a positive integer, got "2.5"'],
    [['burst', '--spacing-ms=-1'], '--spacing-ms: expected a non-negative number, got "-1"'],
    [['burst', '--spacing-ms', '-1'], '--spacing-ms: expected a value; write --spacing-ms=<value> for one starting with "-"'],
    [['burst', '--max-outstanding', 'lots'], '--max-outstanding: expected a positive integer, got "lots"'],
    [['open', '--rate', '0'], '--rate: expected a positive number, got "0"'],
    [['open', '--duration', '1e'], '--duration: expected a positive number, got "1e"'],
    [['open', '--timeout-s', '0'], '--timeout-s: expected a positive number, got "0"'],
    [['burst', '--rate', '5'], '--rate: applies to open mode only'],
    [['open', '--count', '5'], '--count: applies to burst mode only'],
    [['burst', '--priority', 'urgent'], '--priority: expected one of high, normal, low, got "urgent"'],
    [['burst', '--url', 'localhost:8080'], '--url: expected an http(s) URL, got "localhost:8080"'],
    [['burst', '--model', 'a', '--mix', 'a=1'], '--mix: use either --model or --mix, not both'],
    [['burst', '--mix', 'a=x'], '--mix: weight of a must be a positive number, got "x"'],
  ])('rejects %j with one line naming the flag', (argv, message) => {
    expect(errorOf(argv)).toBe(message);
  });

  it('names API_URL when the bad URL came from the environment', () => {
    expect(errorOf(['burst'], { API_URL: 'nope' })).toBe('API_URL: expected an http(s) URL, got "nope"');
  });
});
