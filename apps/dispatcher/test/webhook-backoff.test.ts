import { describe, expect, it } from 'vitest';
import { WEBHOOK_BACKOFF_FACTOR, WebhookAttemptError, parseRetryAfter, webhookBackoffMs } from '../src/webhook-sender.js';

describe('webhook retry schedule', () => {
  it('grows ×5 per retry from the base, within ±20 % jitter', () => {
    for (let n = 1; n <= 7; n++) {
      const nominal = 5000 * WEBHOOK_BACKOFF_FACTOR ** (n - 1);
      expect(webhookBackoffMs(n, 5000, new Error('x'), () => 0)).toBe(Math.round(nominal * 0.8));
      expect(webhookBackoffMs(n, 5000, new Error('x'), () => 1)).toBe(Math.round(nominal * 1.2));
      expect(webhookBackoffMs(n, 5000, new Error('x'), () => 0.5)).toBe(nominal);
    }
  });

  it('spreads 8 attempts over about a day with the defaults', () => {
    let total = 0;
    for (let n = 1; n <= 7; n++) total += webhookBackoffMs(n, 5000, undefined, () => 0.5);
    expect(total / 3_600_000).toBeGreaterThan(20);
    expect(total / 3_600_000).toBeLessThan(30);
  });

  it("uses the receiver's Retry-After instead when it sent one", () => {
    expect(webhookBackoffMs(1, 5000, new WebhookAttemptError('503', 1500), () => 0.5)).toBe(1500);
    expect(webhookBackoffMs(6, 5000, new WebhookAttemptError('503', 0), () => 0.5)).toBe(0);
    expect(webhookBackoffMs(2, 20, new WebhookAttemptError('500', undefined), () => 0.5)).toBe(100);
  });

  it('reads Retry-After as seconds or an HTTP date, capped at a day', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Mon, 30 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 30 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('9999999', now)).toBe(86_400_000);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});
