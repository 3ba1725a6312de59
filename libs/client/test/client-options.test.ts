import { describe, expect, it } from 'vitest';
import { compileClientOptions } from '../src/client-options.js';

describe('compileClientOptions', () => {
  it('fills the defaults and freezes the result', () => {
    const options = compileClientOptions({ baseUrl: 'http://127.0.0.1:8080' });
    expect(options).toMatchObject({ apiKey: undefined, timeoutMs: 10_000, connections: null });
    expect(options.baseUrl.href).toBe('http://127.0.0.1:8080/');
    expect(Object.isFrozen(options)).toBe(true);
  });

  it('keeps a path prefix of the base URL', () => {
    expect(compileClientOptions({ baseUrl: 'https://example.test/sched' }).baseUrl.href).toBe('https://example.test/sched/');
  });

  it('names the option that is wrong', () => {
    expect(() => compileClientOptions({ baseUrl: '127.0.0.1:8080' })).toThrow(/^baseUrl: /);
    expect(() => compileClientOptions({ baseUrl: 'ftp://host/' })).toThrow(/^baseUrl: /);
    expect(() => compileClientOptions({ baseUrl: 'http://h', timeoutMs: 0 })).toThrow(/^timeoutMs: /);
    expect(() => compileClientOptions({ baseUrl: 'http://h', connections: 1.5 })).toThrow(/^connections: /);
  });
});
