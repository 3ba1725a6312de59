/**
 * Runs the local cluster (embedded redis-server, api + dispatcher + workers in this
 * process, as `npm start` does) and drives it with the load client in its own process.
 * Prints the load client's report plus the dispatcher's decision latency.
 *
 *   npx tsx --conditions=@sched/source bench/live-load.ts --fleet prototype --policy greedy-gpu -- burst
 *   (everything after `--` goes to `npm run load`)
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { RedisServer, bundledFleetPath, loadConfig } from '@sched/core';
import { startLocalCluster } from '@sched/cluster';

const split = process.argv.indexOf('--');
const own = split === -1 ? process.argv.slice(2) : process.argv.slice(2, split);
const loadArgs = split === -1 ? ['burst'] : process.argv.slice(split + 1);
const { values } = parseArgs({
  args: own,
  options: { fleet: { type: 'string', default: 'prototype' }, policy: { type: 'string', default: 'greedy-gpu' } },
});
const fleetName = values.fleet as 'default' | 'prototype' | 'heterogeneous';

const redis = await RedisServer.start();
const config = loadConfig({
  REDIS_URL: redis.url,
  FLEET_FILE: bundledFleetPath(fleetName),
  SCHED_POLICY: values.policy,
  API_HOST: '127.0.0.1',
  API_PORT: '0',
  DISPATCHER_METRICS_PORT: '0',
  WORKER_METRICS_PORT: '0',
  LOG_LEVEL: 'warn',
});
const cluster = await startLocalCluster(config);
// Let the first heartbeats and fleet read settle, as a running cluster would be.
await new Promise((r) => setTimeout(r, 1500));
cluster.dispatcher.decisionMicros.reset();

const report = await new Promise<string>((resolve, reject) => {
  const child = spawn('npm', ['run', '--silent', 'load', '--', ...loadArgs, '--url', cluster.apiUrl, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`load client exited ${code}: ${out}`))));
});
const [p50, p99] = cluster.dispatcher.decisionMicros.percentiles([50, 99]);
const result = {
  fleet: fleetName,
  policy: values.policy,
  load: JSON.parse(report.split('\n').pop() ?? '{}') as unknown,
  decisionMicros: { p50, p99, samples: cluster.dispatcher.decisionMicros.size },
};
console.log(JSON.stringify(result));
await cluster.close();
await redis.destroy();
