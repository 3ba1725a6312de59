import type { JobView } from '@sched/core';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

export { WebhookVerificationError };

/** Headers as Node (`IncomingHttpHeaders`), Express or fetch (`Headers`) give them. */
export type WebhookHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifiedWebhook {
  /** `webhook-id`: the job id, the same on every attempt; deduplicate on it. */
  readonly id: string;
  readonly job: JobView;
}

/**
 * Checks a webhook the scheduler sent (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
 * `webhook-signature`, HMAC-SHA256 over `id.timestamp.body`, timestamps within 5 minutes) and
 * returns the job view it carries. Throws `WebhookVerificationError` when it does not verify.
 * Pass the raw body exactly as received (a re-serialised JSON object will not verify).
 *
 * @example
 * app.post('/hook', express.text({ type: 'application/json' }), (req, res) => {
 *   const { id, job } = verifyWebhook(process.env.WEBHOOK_SECRET!, req.body, req.headers);
 *   res.sendStatus(204);
 * });
 */
export function verifyWebhook(secret: string, rawBody: string | Buffer, headers: WebhookHeaders): VerifiedWebhook {
  const get = (name: string): string => {
    const value = headers instanceof Headers ? headers.get(name) : headers[name];
    const first = Array.isArray(value) ? (value as readonly string[])[0] : (value as string | null | undefined);
    if (first === undefined || first === null) throw new WebhookVerificationError(`missing ${name} header`);
    return first;
  };
  const required = { 'webhook-id': get('webhook-id'), 'webhook-timestamp': get('webhook-timestamp'), 'webhook-signature': get('webhook-signature') };
  const job = new Webhook(secret).verify(rawBody, required) as JobView;
  return { id: required['webhook-id'], job };
}
