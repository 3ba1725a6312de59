import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/**
 * A bare `/metrics` endpoint for processes without an HTTP app of their own.
 * `extra` appends more exposition text (BullMQ's queue counts) after the registry's.
 */
export async function startMetricsServer(
  registry: Registry,
  port: number,
  /** The bind address: loopback unless the deployment says otherwise (METRICS_HOST). */
  host: string,
  extra?: () => Promise<string>,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'urn:sched:problem:route_not_found', title: 'No such route', status: 404, detail: 'only /metrics is served here', code: 'route_not_found' }));
      return;
    }
    Promise.all([registry.metrics(), extra?.() ?? Promise.resolve('')]).then(
      ([text, more]) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text + more);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/problem+json' });
        res.end(JSON.stringify({ type: 'urn:sched:problem:internal', title: 'Internal error', status: 500, detail: String(error), code: 'internal' }));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
