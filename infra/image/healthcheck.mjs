// The image's HEALTHCHECK: exit 0 when the app APP names answers 200 on its health endpoint. The
// address comes from the app's own config (the same environment, the same defaults), so a moved
// port is followed. A server bound to every interface is reached on loopback.
import { loadConfig } from '@sched/core';
import { chosenApp } from './apps.mjs';

const { name, health } = chosenApp();
const { host, port, path } = health(loadConfig(process.env));
if (port === 0) {
  process.stderr.write(`healthcheck: ${name} listens on a port chosen at start (0); set its port to check it\n`);
  process.exit(1);
}
const loopback = { '0.0.0.0': '127.0.0.1', '::': '[::1]' }[host] ?? (host.includes(':') ? `[${host}]` : host);
const url = `http://${loopback}:${port}${path}`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`status ${res.status}`);
} catch (error) {
  // fetch's own message is "fetch failed"; the reason (ECONNREFUSED, a timeout) is its cause.
  const reason = error instanceof Error ? [error.message, error.cause instanceof Error ? error.cause.message : null].filter(Boolean).join(': ') : String(error);
  process.stderr.write(`healthcheck: ${name} at ${url}: ${reason}\n`);
  process.exit(1);
}
