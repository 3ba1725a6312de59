import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';

export interface Hit {
  at: number;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** How a receiver answers its `n`-th hit (0-based); null never answers (a black hole). */
export type Answer = (n: number, hit: Hit) => { status: number; headers?: Record<string, string> } | null;

/** A real HTTP receiver on loopback: it records each hit and how many requests it holds open at once. */
export class Receiver {
  readonly hits: Hit[] = [];
  open = 0;
  maxOpen = 0;
  port = 0;
  private server: Server | null = null;

  constructor(private readonly answer: Answer = () => ({ status: 204 })) {}

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      this.open++;
      this.maxOpen = Math.max(this.maxOpen, this.open);
      req.on('close', () => this.open--);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const hit = { at: Date.now(), url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        const answer = this.answer(this.hits.length, hit);
        this.hits.push(hit);
        if (answer !== null) res.writeHead(answer.status, answer.headers).end();
      });
    });
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Receivers for the tests of a file: each started on demand, all stopped after each test. */
export function useReceivers(): (answer?: Answer, port?: number) => Promise<Receiver> {
  const receivers: Receiver[] = [];
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.stop()));
  });
  return async (answer, port) => {
    const r = await new Receiver(answer).start(port);
    receivers.push(r);
    return r;
  };
}
