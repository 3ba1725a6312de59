/**
 * The yardstick of the HTTP ratio: an Express 5 hello-world POST route in a process of its own,
 * parsing a JSON body and answering 202 with a small JSON body, as `POST /v1/jobs` does, and
 * nothing else (no validation, no Redis). Emits `listening` with its port.
 *
 *   npx tsx --conditions=@sched/source bench/hello-server.ts
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { emitEvent } from './bench-child.js';

const app = express();
app.use(express.json());
app.post('/hello', (req, res) => {
  res.status(202).json({ id: randomUUID(), status: 'queued', model: (req.body as { model?: unknown }).model });
});
const server = app.listen(0, '127.0.0.1', () => emitEvent('listening', { port: (server.address() as AddressInfo).port }));
process.on('SIGTERM', () => process.exit(0));
