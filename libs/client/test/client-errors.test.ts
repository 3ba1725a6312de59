import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ApiError, createClient } from '../src/index.js';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('client failures without an answer', () => {
  it('reports a refused connection as an ApiError network_error naming the request', async () => {
    const client = createClient({ baseUrl: `http://127.0.0.1:${await closedPort()}` });
    try {
      const failure = await client.submit({ model: 'default', input: 1 }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ApiError);
      expect(failure).toMatchObject({ code: 'network_error', status: undefined, method: 'POST', path: '/v1/jobs' });
    } finally {
      await client.close();
    }
  });

  it('rejects with the caller signal reason when aborted, not an ApiError', async () => {
    const client = createClient({ baseUrl: `http://127.0.0.1:${await closedPort()}` });
    try {
      const controller = new AbortController();
      controller.abort(new Error('stop'));
      await expect(client.wait('0b0e3c1e-0000-4000-8000-000000000000', { signal: controller.signal })).rejects.toThrow('stop');
    } finally {
      await client.close();
    }
  });
});
