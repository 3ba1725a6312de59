/**
 * `npm run bench`: the per-job overhead benchmarks (issue 11) in one command, under 10 minutes on a
 * 2-core machine: throughput against raw BullMQ, the HTTP ratio, the added latency. Prints each
 * table, writes each result as JSON to bench/results/<name>.json, and rewrites BENCHMARKS.md's
 * generated sections (between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`; nothing outside).
 *
 *   npm run bench [-- --only throughput,http-ratio,added-latency] [--no-write]
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '@sched/testkit';
import { formatAddedLatency, runAddedLatency } from './added-latency.js';
import { formatAdmission, runAdmission } from './admission.js';
import { collectBenchEnvironment, describeEnvironment, type BenchEnvironment } from './bench-environment.js';
import { formatHttpRatio, runHttpRatio } from './http-ratio.js';
import { replaceMarkedSection } from './markdown-sections.js';
import { formatThroughput, runThroughput } from './throughput.js';

interface Benchmark {
  readonly title: string;
  run(): Promise<{ result: unknown; table: string }>;
}

const BENCHMARKS: Readonly<Record<string, Benchmark>> = {
  throughput: {
    title: 'Throughput: the pipeline through HTTP ÷ raw BullMQ one hop, CPU and Redis commands per job',
    run: async () => {
      const result = await runThroughput();
      return { result, table: formatThroughput(result) };
    },
  },
  'http-ratio': {
    title: '`POST /v1/jobs` ÷ an Express hello-world POST route',
    run: async () => {
      const result = await runHttpRatio();
      return { result, table: formatHttpRatio(result) };
    },
  },
  admission: {
    title: 'Admission control: a 3× overload with and without the expected-wait guard, and the cost of auth + rate limiting',
    run: async () => {
      const result = await runAdmission({ seconds: 10, rounds: 3 });
      return { result, table: formatAdmission(result) };
    },
  },
  'added-latency': {
    title: 'Added latency at 50 % load, and the prototype scenario',
    run: async () => {
      const result = await runAddedLatency();
      return { result, table: formatAddedLatency(result) };
    },
  },
};

/** The command as a reader would type it to make the same tables. */
function commandLine(argv: readonly string[]): string {
  return argv.length === 0 ? 'npm run bench' : `npm run bench -- ${argv.join(' ')}`;
}

function section(title: string, env: BenchEnvironment, command: string, table: string): string {
  return [`### ${title}`, '', describeEnvironment(env, command), '', table].join('\n');
}

const argv = process.argv.slice(2);
const { values } = parseArgs({ args: argv, options: { only: { type: 'string' }, 'no-write': { type: 'boolean', default: false } } });
const names = values.only === undefined ? Object.keys(BENCHMARKS) : values.only.split(',').map((n) => n.trim()).filter((n) => n !== '');
const unknown = names.filter((n) => BENCHMARKS[n] === undefined);
if (unknown.length > 0) {
  console.error(`--only: unknown benchmark ${unknown.join(', ')}; expected some of ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(2);
}

const command = commandLine(argv);
const started = performance.now();
const resultsDir = join(REPO_ROOT, 'bench/results');
const benchmarksPath = join(REPO_ROOT, 'BENCHMARKS.md');
mkdirSync(resultsDir, { recursive: true });
for (const name of names) {
  const bench = BENCHMARKS[name] as Benchmark;
  const env = collectBenchEnvironment();
  const t0 = performance.now();
  console.error(`\n== ${name} ==`);
  const { result, table } = await bench.run();
  const text = section(bench.title, env, command, table);
  console.log(`\n${text}\n`);
  console.error(`${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (values['no-write']) continue;
  writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify({ name, command, environment: env, result }, null, 2)}\n`);
  // Re-read per benchmark: a long run should not overwrite what someone edited outside the markers meanwhile.
  writeFileSync(benchmarksPath, replaceMarkedSection(readFileSync(benchmarksPath, 'utf8'), name, text));
}
console.error(`\nnpm run bench: ${((performance.now() - started) / 1000).toFixed(0)} s in all`);
