/**
 * Runs the local cluster (embedded redis-server, api + dispatcher + workers in this
 * process, as `npm start` does) and drives it with the load client in its own process.
 * Prints the load client's report plus the dispatcher's decision latency.
 *
 *   npx tsx --conditions=@sched/source bench/live-load.ts --fleet prototype --policy greedy-gpu -- burst
 *   (everything after `--` goes to `npm run load`)
 */
import { parseArgs } from 'node:util';
import { bundledFleetPath } from '@sched/core';
import { runLoadClient, startBenchCluster } from './bench-cluster.js';

const split = process.argv.indexOf('--');
const own = split === -1 ? process.argv.slice(2) : process.argv.slice(2, split);
const loadArgs = split === -1 ? ['burst'] : process.argv.slice(split + 1);
const { values } = parseArgs({
  args: own,
  options: { fleet: { type: 'string', default: 'prototype' }, policy: { type: 'string', default: 'greedy-gpu' } },
});
const fleetName = values.fleet as 'default' | 'prototype' | 'heterogeneous';

const bench = await startBenchCluster(bundledFleetPath(fleetName), values.policy);
const { dispatcher } = bench.cluster;
dispatcher.decisionMicros.reset();
const load = await runLoadClient<unknown>(loadArgs, bench.cluster.apiUrl);
const [p50, p99] = dispatcher.decisionMicros.percentiles([50, 99]);
console.log(JSON.stringify({ fleet: fleetName, policy: values.policy, load, decisionMicros: { p50, p99, samples: dispatcher.decisionMicros.size } }));
await bench.close();
