import type { Response } from 'express';

/** Aborts when the client goes away (the response closes, sent or not): a wait for it stops. */
export function closedSignal(res: Response): AbortSignal {
  const closed = new AbortController();
  res.on('close', () => closed.abort());
  return closed.signal;
}
