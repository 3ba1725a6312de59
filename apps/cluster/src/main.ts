import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { ConfigError, loadConfig, type Config } from '@sched/core';
import { RedisServer } from '@sched/testkit';
import { createLogger, exitOnProcessFault } from '@sched/runtime';
import { startLocalCluster, type LocalCluster } from './local-cluster.js';

/**
 * `npm start`: the whole scheduler in one process. Uses REDIS_URL when set;
 * otherwise runs an embedded redis-server (from PATH) on a free port with AOF
 * in a temp dir, and stops it on exit.
 */
async function main(): Promise<void> {
  let embedded: RedisServer | null = null;
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`cluster: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  if (process.env.REDIS_URL === undefined || process.env.REDIS_URL === '') {
    try {
      embedded = await RedisServer.start();
    } catch {
      process.stderr.write(
        'cluster: no REDIS_URL and no redis-server on PATH: install one (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL=redis://host:6379\n',
      );
      process.exit(1);
    }
    config = Object.freeze({ ...config, REDIS_URL: embedded.url });
  }
  // A local cluster sends webhooks to receivers on this machine (localhost, a LAN address), so the
  // SSRF guard is lifted by default — but only while the API listens on loopback alone: reachable
  // from a network, anyone could probe private addresses and ports through webhook.lastError.
  // WEBHOOK_ALLOW_PRIVATE given either way wins. A secret is made up if none was given.
  const loopbackOnly = isLoopback(config.API_HOST);
  const allowPrivate = process.env.WEBHOOK_ALLOW_PRIVATE === undefined || process.env.WEBHOOK_ALLOW_PRIVATE === '' ? loopbackOnly : config.WEBHOOK_ALLOW_PRIVATE;
  const generatedSecret = config.WEBHOOK_SECRET === undefined;
  const webhookSecret = config.WEBHOOK_SECRET ?? `whsec_${randomBytes(32).toString('base64')}`;
  config = Object.freeze({ ...config, WEBHOOK_ALLOW_PRIVATE: allowPrivate, WEBHOOK_SECRET: webhookSecret });
  const logger = createLogger('cluster', config.LOG_LEVEL);
  let cluster: LocalCluster | null = null;
  let stopping = false;
  // One process for everything: a stop closes the api, the dispatcher and the workers cleanly, then Redis.
  const stop = async (exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const hardStop = setTimeout(() => process.exit(1), config.SHUTDOWN_TIMEOUT_MS + 3000);
    hardStop.unref();
    await cluster?.close();
    if (embedded) {
      await embedded.stop('SIGTERM');
      rmSync(embedded.dir, { recursive: true, force: true });
    }
    process.exit(exitCode);
  };
  exitOnProcessFault(logger, (exitCode) => void stop(exitCode));
  cluster = await startLocalCluster(config, { logger });

  const lines = [
    '',
    `  Scheduler running (policy ${config.SCHED_POLICY}, fleet ${config.FLEET_FILE})`,
    `  Fleet page   ${cluster.apiUrl}/            (open this first: every worker, live)`,
    `  Queues       ${cluster.apiUrl}/admin/queues  (Bull Board)`,
    `  API          ${cluster.apiUrl}/v1/jobs`,
    `  Metrics      ${cluster.apiUrl}/metrics · dispatcher :${cluster.dispatcher.metricsPort ?? '-'} · workers :${cluster.workers.metricsPort ?? '-'}`,
    `  Redis        ${config.REDIS_URL}${embedded ? ` (embedded, data in ${embedded.dir})` : ''}`,
    `  Webhooks     signed with ${generatedSecret ? `${webhookSecret} (made up for this run; set WEBHOOK_SECRET to keep one)` : 'WEBHOOK_SECRET'}`,
    `               private and loopback receivers ${privateReceivers(allowPrivate, loopbackOnly)}`,
    `  Access       ${access(config)}`,
    `  API docs     ${cluster.apiUrl}/docs`,
    '',
    '  Try:',
    `    curl -s -X POST ${cluster.apiUrl}/v1/jobs -H 'content-type: application/json' -d '{"model":"resnet50","input":{"image":"cat.jpg"}}'`,
    `    curl -s '${cluster.apiUrl}/v1/jobs/<id>?wait=10'`,
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
}

/** 127.0.0.0/8, ::1 and localhost: an address no other machine can reach. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function privateReceivers(allowed: boolean, loopbackOnly: boolean): string {
  if (!allowed) return `refused${loopbackOnly ? ' (WEBHOOK_ALLOW_PRIVATE=false)' : ' (the API is reachable from the network; WEBHOOK_ALLOW_PRIVATE=true allows them)'}`;
  return `allowed (${loopbackOnly ? 'the API listens on loopback only' : 'WEBHOOK_ALLOW_PRIVATE=true'}: local development only)`;
}

function access(config: Config): string {
  const where = isLoopback(config.API_HOST) ? `this machine only (on ${config.API_HOST}; HOST=0.0.0.0 opens it to the network)` : `the network (on ${config.API_HOST})`;
  const auth = config.API_KEYS.length > 0 ? `API keys required (${config.API_KEYS.length})` : 'no API keys (set API_KEYS to require one)';
  return `${where}, ${auth}`;
}

main().catch((error: unknown) => {
  process.stderr.write(`cluster: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
