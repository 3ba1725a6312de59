import { parseArgs } from 'node:util';
import { MAX_BATCH_JOBS, PRIORITIES, type Priority } from '@sched/core';
import { MODEL_MIX_FORM, parseModelMix, type ModelMix } from '@sched/exec';

export const MODES = ['burst', 'open', 'replay'] as const;
export type LoadMode = (typeof MODES)[number];

/** Everything a run needs, validated and defaulted. */
export interface LoadArgs {
  readonly mode: LoadMode;
  readonly url: string;
  readonly apiKey: string | undefined;
  readonly mix: ModelMix;
  readonly priority: Priority | undefined;
  readonly json: boolean;
  readonly count: number;
  readonly spacingMs: number;
  readonly maxOutstanding: number;
  readonly ratePerS: number;
  readonly durationS: number;
  readonly seed: number;
  readonly timeoutS: number;
  /** Jobs per request: 1 is a POST /v1/jobs and a long-poll per job; more groups arrivals into batches. */
  readonly batch: number;
  /** replay: the trace file (JSONL, or the Azure CSV whose rows all get `--model`). */
  readonly trace: string | undefined;
  /** replay: time compression, 20 = twenty times faster than recorded. */
  readonly speed: number;
  /** replay: at most this many rows. */
  readonly limit: number | undefined;
}

export const USAGE = `usage: npm run load -- <burst|open> [flags]

modes
  burst                    --count jobs, --spacing-ms apart, at most --max-outstanding in flight
  open                     Poisson arrivals at --rate jobs/s for --duration s
  replay                   the arrivals and job sizes of --trace, --speed times faster

flags
  --url <url>              API base URL (default: $API_URL or http://127.0.0.1:8080)
  --api-key <key>          Bearer key (default: $API_KEY, else none)
  --model <name>           model of every job (default: default)
  --mix <m=w,...>          model mix instead of --model, ${MODEL_MIX_FORM} (weights normalised),
                           e.g. resnet50=0.5,bert-base=0.5 or resnet50=3,bert-base=1
  --priority <p>           high | normal | low (default: the API's, normal)
  --max-outstanding <n>    jobs in flight at most (default: burst 30, open 1000)
  --timeout-s <s>          per job, submit to result, before it counts as a timeout (default: 60)
  --batch <n>              group arrivals into batches of n (1-${MAX_BATCH_JOBS}), each sent with POST /v1/jobs/batch
                           when its last job is due and waited on with POST /v1/jobs/wait; a job's latency
                           is its batch's; --max-outstanding counts jobs and must be at least n (default: 1)
  --seed <n>               seeds arrivals and the model mix (default: 1)
  --json                   one JSON object on stdout, no progress bar
  -h, --help               this text

burst
  --count <n>              jobs (default: 500)
  --spacing-ms <ms>        gap between submissions (default: 80)

open
  --rate <jobs/s>          mean arrival rate (default: 50)
  --duration <s>           length of the arrival window (default: 10)

replay
  --trace <file>           JSONL {"t": ms, "model", "size"?: {inputTokens, outputTokens}} per line,
                           or the Azure LLM trace CSV (every row becomes a job of --model)
  --speed <x>              replay x times faster than recorded (default: 1)
  --limit <n>              only the first n rows
`;

/** A bad command line: the flag and what was expected, as one line. */
export class LoadArgsError extends Error {
  constructor(
    readonly flag: string,
    readonly expected: string,
  ) {
    super(`${flag}: ${expected}`);
    this.name = 'LoadArgsError';
  }
}

const OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  model: { type: 'string' },
  mix: { type: 'string' },
  priority: { type: 'string' },
  'max-outstanding': { type: 'string' },
  'timeout-s': { type: 'string' },
  batch: { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  count: { type: 'string' },
  'spacing-ms': { type: 'string' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  trace: { type: 'string' },
  speed: { type: 'string' },
  limit: { type: 'string' },
} as const;

const MODE_ONLY: Readonly<Record<string, LoadMode>> = {
  count: 'burst',
  'spacing-ms': 'burst',
  rate: 'open',
  duration: 'open',
  trace: 'replay',
  speed: 'replay',
  limit: 'replay',
};

type Check = 'positive-int' | 'non-negative-int' | 'positive' | 'non-negative';
const EXPECTED: Readonly<Record<Check, string>> = {
  'positive-int': 'expected a positive integer',
  'non-negative-int': 'expected a non-negative integer',
  positive: 'expected a positive number',
  'non-negative': 'expected a non-negative number',
};

function numberFlag(flag: string, text: string | undefined, fallback: number, check: Check): number {
  if (text === undefined) return fallback;
  const value = /^\s*[+]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(text) ? Number(text) : Number.NaN;
  const ok =
    Number.isFinite(value) &&
    (check.endsWith('-int') ? Number.isSafeInteger(value) : true) &&
    (check.startsWith('positive') ? value > 0 : value >= 0);
  if (!ok) throw new LoadArgsError(`--${flag}`, `${EXPECTED[check]}, got "${text}"`);
  return value;
}

/** Rewrites node:util's parse errors as one line naming the flag. */
function parseError(error: unknown): LoadArgsError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  const flag = /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? 'arguments';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return new LoadArgsError(flag, 'unknown flag (see --help)');
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (message.includes('does not take')) return new LoadArgsError(flag, 'takes no value');
    if (message.includes('ambiguous')) {
      return new LoadArgsError(flag, `expected a value; write ${flag}=<value> for one starting with "-"`);
    }
    return new LoadArgsError(flag, 'expected a value');
  }
  return new LoadArgsError(flag, message);
}

/**
 * Parses the command line after `npm run load --`. Returns `'help'` for -h/--help;
 * throws a LoadArgsError for anything wrong.
 */
export function parseLoadArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): LoadArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw parseError(error);
  }
  const { values, positionals } = parsed;
  if (values.help === true) return 'help';

  const [mode, ...extra] = positionals;
  if (mode === undefined) throw new LoadArgsError('mode', `expected one of ${MODES.join(', ')} (see --help)`);
  if (!(MODES as readonly string[]).includes(mode)) {
    throw new LoadArgsError('mode', `expected one of ${MODES.join(', ')}, got "${mode}"`);
  }
  const loadMode = mode as LoadMode;
  if (extra.length > 0) throw new LoadArgsError('arguments', `unexpected "${extra.join(' ')}" after the mode`);
  for (const [flag, only] of Object.entries(MODE_ONLY)) {
    if (values[flag as keyof typeof values] !== undefined && only !== loadMode) {
      throw new LoadArgsError(`--${flag}`, `applies to ${only} mode only`);
    }
  }

  const url = values.url ?? env.API_URL ?? 'http://127.0.0.1:8080';
  let parsedUrl: URL | undefined;
  try {
    parsedUrl = new URL(url);
  } catch {
    parsedUrl = undefined;
  }
  if (parsedUrl === undefined || (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:')) {
    throw new LoadArgsError(values.url === undefined ? 'API_URL' : '--url', `expected an http(s) URL, got "${url}"`);
  }

  if (values.model !== undefined && values.mix !== undefined) {
    throw new LoadArgsError('--mix', 'use either --model or --mix, not both');
  }
  let mix: ModelMix;
  try {
    mix = parseModelMix(values.mix ?? `${values.model ?? 'default'}=1`);
  } catch (error) {
    throw new LoadArgsError(values.mix === undefined ? '--model' : '--mix', (error as Error).message);
  }

  const priority = values.priority;
  if (priority !== undefined && !(PRIORITIES as readonly string[]).includes(priority)) {
    throw new LoadArgsError('--priority', `expected one of ${PRIORITIES.join(', ')}, got "${priority}"`);
  }

  if (loadMode === 'replay' && values.trace === undefined) throw new LoadArgsError('--trace', 'replay needs a trace file');
  if (loadMode === 'replay' && values.mix !== undefined) throw new LoadArgsError('--mix', 'replay takes the model from the trace (or --model for a CSV)');

  const maxOutstanding = numberFlag('max-outstanding', values['max-outstanding'], loadMode === 'burst' ? 30 : 1000, 'positive-int');
  const batch = numberFlag('batch', values.batch, 1, 'positive-int');
  if (batch > MAX_BATCH_JOBS) throw new LoadArgsError('--batch', `expected at most ${MAX_BATCH_JOBS}, got "${values.batch ?? ''}"`);
  if (batch > maxOutstanding) throw new LoadArgsError('--batch', `a batch of ${batch} needs --max-outstanding of at least ${batch}, got ${maxOutstanding}`);

  return Object.freeze({
    mode: loadMode,
    url,
    apiKey: values['api-key'] ?? env.API_KEY,
    mix,
    priority: priority as Priority | undefined,
    json: values.json === true,
    count: numberFlag('count', values.count, 500, 'positive-int'),
    spacingMs: numberFlag('spacing-ms', values['spacing-ms'], 80, 'non-negative'),
    maxOutstanding,
    batch,
    ratePerS: numberFlag('rate', values.rate, 50, 'positive'),
    durationS: numberFlag('duration', values.duration, 10, 'positive'),
    seed: numberFlag('seed', values.seed, 1, 'non-negative-int'),
    timeoutS: numberFlag('timeout-s', values['timeout-s'], 60, 'positive'),
    trace: values.trace,
    speed: numberFlag('speed', values.speed, 1, 'positive'),
    limit: values.limit === undefined ? undefined : numberFlag('limit', values.limit, 0, 'positive-int'),
  });
}
