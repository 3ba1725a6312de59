import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A webhook receiver on loopback that answers every delivery 204 and counts them, for a test that
 * needs deliveries to land but not to be inspected (the webhook tests keep their own receiver,
 * which records each hit). The cluster must allow private addresses (`WEBHOOK_ALLOW_PRIVATE=true`).
 */
export class WebhookSink {
  private constructor(
    private readonly server: Server,
    private readonly count: { deliveries: number },
    readonly port: number,
  ) {}

  static async start(): Promise<WebhookSink> {
    const count = { deliveries: 0 };
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        count.deliveries++;
        res.writeHead(204).end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new WebhookSink(server, count, (server.address() as AddressInfo).port);
  }

  /** Deliveries received so far (retries of one job count again). */
  get received(): number {
    return this.count.deliveries;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
