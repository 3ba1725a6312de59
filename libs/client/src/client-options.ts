/** Options of {@link createClient}. */
export interface ClientOptions {
  /** Base URL of the API, e.g. `http://127.0.0.1:8080`; a path prefix is kept. */
  baseUrl: string;
  /**
   * API key, sent as `Authorization: Bearer <key>`.
   * @defaultValue none (no Authorization header)
   */
  apiKey?: string;
  /**
   * Time limit of one HTTP request in ms. A long-poll gets its wait on top of it.
   * @defaultValue 10000
   */
  timeoutMs?: number;
  /**
   * Most keep-alive connections held open to the API. Each outstanding long-poll
   * holds one, so a load generator wants at least as many as it has jobs in flight.
   * @defaultValue unlimited
   */
  connections?: number;
}

export interface CompiledClientOptions {
  readonly baseUrl: URL;
  readonly apiKey: string | undefined;
  readonly timeoutMs: number;
  readonly connections: number | null;
}

/** Validates once and returns frozen, fully-defaulted options; throws a TypeError naming the bad option. */
export function compileClientOptions(options: ClientOptions): CompiledClientOptions {
  let baseUrl: URL;
  try {
    baseUrl = new URL(options.baseUrl);
  } catch {
    throw new TypeError(`baseUrl: expected an absolute http(s) URL, got "${options.baseUrl}"`);
  }
  if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:') {
    throw new TypeError(`baseUrl: expected an http(s) URL, got "${options.baseUrl}"`);
  }
  if (!baseUrl.pathname.endsWith('/')) baseUrl.pathname += '/';
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError(`timeoutMs: expected a positive number of milliseconds, got ${timeoutMs}`);
  }
  const connections = options.connections ?? null;
  if (connections !== null && (!Number.isInteger(connections) || connections <= 0)) {
    throw new TypeError(`connections: expected a positive integer, got ${connections}`);
  }
  return Object.freeze({ baseUrl, apiKey: options.apiKey, timeoutMs, connections });
}
