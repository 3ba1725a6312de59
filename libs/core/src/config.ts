import { z } from 'zod';
import { bundledFleetPath } from './catalog.js';

const port = z.coerce
  .number({ error: 'expected a port number (0-65535)' })
  .int({ error: 'expected a port number (0-65535)' })
  .min(0, { error: 'expected a port number (0-65535)' })
  .max(65535, { error: 'expected a port number (0-65535)' });
const positiveInt = z.coerce
  .number({ error: 'expected a positive integer' })
  .int({ error: 'expected a positive integer' })
  .positive({ error: 'expected a positive integer' });
const nonNegativeInt = z.coerce
  .number({ error: 'expected a non-negative integer' })
  .int({ error: 'expected a non-negative integer' })
  .min(0, { error: 'expected a non-negative integer' });

const keyList = z
  .string()
  .optional()
  .transform((s) => (s === undefined ? [] : s.split(',').map((k) => k.trim()).filter(Boolean)))
  .refine((keys) => keys.every((k) => k.length >= 16), { error: 'expected comma-separated keys of at least 16 characters' });

export const POLICY_NAMES = ['greedy-gpu', 'round-robin', 'random', 'jsq', 'p2c', 'sed', 'sed-late', 'cost'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** Every environment variable the apps read, with its default. */
export const configSchema = z.object({
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' }).default('redis://127.0.0.1:6379'),
  KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1-64 letters, digits, _ or -' })
    .default('sched'),
  /** The address every listening server binds (the API, the metrics endpoints): loopback unless told otherwise. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** The API's own bind address, over HOST. */
  API_HOST: z.string().min(1).optional(),
  /** The dispatcher's and worker hosts' /metrics bind address, over HOST. */
  METRICS_HOST: z.string().min(1).optional(),
  API_PORT: port.default(8080),
  DISPATCHER_METRICS_PORT: port.default(9464),
  WORKER_METRICS_PORT: port.default(9465),
  FLEET_FILE: z.string().min(1).default(bundledFleetPath('default')),
  WORKER_IDS: z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === '' ? undefined : s.split(',').map((id) => id.trim()).filter(Boolean))),
  SCHED_POLICY: z.enum(POLICY_NAMES, { error: `expected one of ${POLICY_NAMES.join(', ')}` }).default('sed'),
  HEARTBEAT_MS: positiveInt.default(1000),
  FLEET_REFRESH_MS: positiveInt.default(1000),
  RESULT_TTL_S: positiveInt.default(3600),
  MAX_ATTEMPTS: positiveInt.max(100).default(3),
  RETRY_BACKOFF_MS: positiveInt.default(200),
  NO_WORKER_TIMEOUT_MS: positiveInt.default(60_000),
  PARK_RECHECK_MS: positiveInt.default(1000),
  LOCK_DURATION_MS: positiveInt.default(5000),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),
  DISPATCH_CONCURRENCY: positiveInt.default(64),
  /** `sed-late`: jobs bound to a worker beyond its free room, so its next job is already in its queue. */
  SED_LATE_PREFETCH: nonNegativeInt.default(1),
  /**
   * Fair sharing between tenants (API keys) within a priority, by weight: worker queues and held
   * jobs serve start-time fair order instead of arrival order. Jobs without keys (`anonymous`) are
   * one tenant and skip it.
   */
  FAIR_SHARE: z.enum(['true', 'false'], { error: 'expected true or false' }).default('true').transform((v) => v === 'true'),
  /** Extra wait after a worker's descriptor expired, measured by each dispatcher, before its jobs are routed again. */
  DEAD_WORKER_GRACE_MS: nonNegativeInt.default(0),
  MAX_BODY_BYTES: positiveInt.default(1_048_576),
  /** The longest request target (path and query) the API reads; longer answers 414. */
  MAX_URL_BYTES: positiveInt.max(16_384).default(8192),
  /** Time a client has to send a request's headers (slowloris), in ms. */
  HTTP_HEADERS_TIMEOUT_MS: positiveInt.default(10_000),
  /** Time a client has to send a whole request, body included; a long-poll or SSE answer may run longer (it is not a request's). */
  HTTP_REQUEST_TIMEOUT_MS: positiveInt.default(30_000),
  /** Connections the API holds at once (long-polls, streams and idle keep-alives included); beyond it new ones are closed. */
  HTTP_MAX_CONNECTIONS: positiveInt.default(4096),
  /** Origins allowed to call the API from a browser page on another origin (comma-separated, or `*`); none by default: no CORS. */
  CORS_ORIGINS: z
    .string()
    .optional()
    .transform((s) => (s === undefined ? [] : s.split(',').map((o) => o.trim()).filter(Boolean)))
    .refine((origins) => origins.every((o) => o === '*' || /^https?:\/\/[^/\s?#]+$/.test(o)), {
      error: 'expected comma-separated origins such as https://app.example.com (scheme and host, no path), or *',
    }),
  /** `POST /v1/jobs/batch` only: room for 1,000 jobs of 8 KiB each (a typical job is well under 1 KiB). */
  MAX_BATCH_BODY_BYTES: positiveInt.default(8_388_608),
  /** A job's `input`, serialised as JSON, at most this many bytes (413 `input_too_large`). */
  MAX_INPUT_BYTES: positiveInt.default(262_144),
  /** A job's result, serialised as JSON, at most this many bytes; a larger one fails the job (`result_too_large`). */
  MAX_RESULT_BYTES: positiveInt.default(1_048_576),
  /** A job executing longer than this is stopped and fails with `timeout` (not retried). */
  // A Node timer holds at most 2^31 − 1 ms; a longer one would fire at once.
  MAX_SERVICE_MS: positiveInt.max(2_147_483_647, { error: 'expected at most 2147483647 (about 24.8 days)' }).default(600_000),
  REDIS_TIMEOUT_MS: positiveInt.default(1000),
  LATENCY_SLO_MS: z
    .string()
    .optional()
    .transform((s, ctx) => parseSlo(s, ctx)),
  IDEMPOTENCY_TTL_S: positiveInt.default(86_400),
  /** Requests per second per API key (all keyed routes; 0 = no limit). A key's own `rate` in API_KEYS_FILE wins. */
  RATE_LIMIT_PER_S: nonNegativeInt.default(0),
  /** Unfinished jobs per API key (0 = no limit). A key's own `maxInFlight` in API_KEYS_FILE wins. */
  MAX_IN_FLIGHT_PER_KEY: nonNegativeInt.default(0),
  /** Refuse (429) a job whose model's expected wait, as the dispatcher estimates it, is over this (0 = never). */
  MAX_EXPECTED_WAIT_MS: nonNegativeInt.default(30_000),
  /**
   * Open long-polls, waits and event streams per API key in one API process (0 = no limit).
   * Unset: 1000 with API keys; none without (every caller is then the one tenant `anonymous`, and
   * HTTP_MAX_CONNECTIONS bounds the process).
   */
  MAX_WATCHERS_PER_KEY: nonNegativeInt.optional(),
  API_KEYS: keyList,
  /** Named keys with limits, JSON or YAML (see libs/core/src/tenants.ts); read by loadTenants, not here. */
  API_KEYS_FILE: z.string().min(1).optional(),
  /** Keys with the admin role: every tenant's jobs, Bull Board's mutations. */
  ADMIN_API_KEYS: keyList,
  WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, { error: 'expected whsec_ followed by a base64 secret of at least 24 bytes' })
    .optional(),
  WEBHOOK_MAX_ATTEMPTS: positiveInt.max(50).default(8),
  WEBHOOK_BACKOFF_MS: positiveInt.default(5000),
  WEBHOOK_TIMEOUT_MS: positiveInt.default(10_000),
  WEBHOOK_CONCURRENCY: positiveInt.max(1000).default(64),
  /** Deliveries in flight to one receiver (URL origin) per dispatcher: a black-holed receiver holds no more slots than this. */
  WEBHOOK_MAX_PER_RECEIVER: positiveInt.max(1000).default(4),
  WEBHOOK_RECHECK_MS: positiveInt.default(5000),
  WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false'], { error: 'expected true or false' }).default('false').transform((v) => v === 'true'),
  METRICS_ENABLED: z.enum(['true', 'false'], { error: 'expected true or false' }).default('true').transform((v) => v === 'true'),
  /** Keep BullMQ's per-queue event streams (for a QueueEvents listener); off, they are not written. */
  BULLMQ_EVENTS: z.enum(['true', 'false'], { error: 'expected true or false' }).default('false').transform((v) => v === 'true'),
  /**
   * Unset: Bull Board's mutations for admin keys only (none without keys); `true`: for no one;
   * `false`: also for everyone when the server has no keys (a trusted network). See bull-board.ts.
   */
  BULL_BOARD_READ_ONLY: z
    .enum(['true', 'false'], { error: 'expected true or false' })
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true')),
  /** Worker host: append a line per execution start to this file (`npm run chaos` counts executions per job); unset: off. */
  EXECUTION_LOG: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Latency target for `cost`: `LATENCY_SLO_MS=500` (every model) or `LATENCY_SLO_MS=default=200,llama-8b=3000,*=1000`. */
export interface LatencySlo {
  readonly defaultMs: number | undefined;
  readonly byModel: Readonly<Record<string, number>>;
}

function parseSlo(text: string | undefined, ctx: z.RefinementCtx): LatencySlo {
  const slo: { defaultMs: number | undefined; byModel: Record<string, number> } = { defaultMs: undefined, byModel: {} };
  if (text === undefined || text.trim() === '') return slo;
  const expected = 'expected milliseconds (500) or model=ms pairs (default=200,llama-8b=3000,*=1000)';
  for (const part of text.split(',')) {
    const [name, value] = part.includes('=') ? part.split('=', 2) : ['*', part];
    const ms = Number(value);
    if (!name || !Number.isFinite(ms) || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: expected });
      return slo;
    }
    if (name.trim() === '*') slo.defaultMs = ms;
    else slo.byModel[name.trim()] = ms;
  }
  return slo;
}

type ParsedConfig = z.infer<typeof configSchema>;

/** The validated environment, with the bind addresses resolved (API_HOST and METRICS_HOST default to HOST). */
export type Config = Readonly<Omit<ParsedConfig, 'API_HOST' | 'METRICS_HOST'> & { API_HOST: string; METRICS_HOST: string }>;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly expected: string,
  ) {
    super(`invalid environment variable ${variable}: ${expected}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates the environment once and returns a frozen config. Empty strings
 * count as unset, so `FOO= npm start` means "use the default".
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const relevant: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') relevant[key] = value;
  }
  const parsed = configSchema.safeParse(relevant);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(String(issue?.path[0] ?? '?'), issue?.message ?? 'invalid value');
  }
  const { API_HOST, METRICS_HOST, ...config } = parsed.data;
  if (config.HTTP_HEADERS_TIMEOUT_MS > config.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError('HTTP_HEADERS_TIMEOUT_MS', `expected at most HTTP_REQUEST_TIMEOUT_MS (${config.HTTP_REQUEST_TIMEOUT_MS})`);
  }
  return Object.freeze({ ...config, API_HOST: API_HOST ?? config.HOST, METRICS_HOST: METRICS_HOST ?? config.HOST });
}
