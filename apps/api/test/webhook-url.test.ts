import { describe, expect, it } from 'vitest';
import { forbiddenWebhookUrl } from '../src/webhook-url.js';

describe('webhook URL check at submission', () => {
  it.each([
    ['http://169.254.169.254/latest/meta-data', 'linkLocal'],
    ['http://10.0.0.1/', 'private'],
    ['http://192.168.1.5:8080/x', 'private'],
    ['http://172.16.0.1/', 'private'],
    ['http://127.0.0.1/', 'loopback'],
    ['http://[::1]/', 'loopback'],
    ['http://[fd00::1]/', 'uniqueLocal'],
    ['http://[fe80::1]/', 'linkLocal'],
    ['http://[::ffff:10.0.0.1]/', 'ipv4Mapped'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://100.64.0.1/', 'carrierGradeNat'],
    ['http://224.0.0.1/', 'multicast'],
    // WHATWG URL parsing turns these spellings of 127.0.0.1 into the dotted quad first.
    ['http://2130706433/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
    ['http://017700000001/', 'loopback'],
  ])('refuses %s (%s)', (url, range) => {
    expect(forbiddenWebhookUrl(url)).toContain(range);
  });

  it.each(['https://example.com/hook', 'http://8.8.8.8/', 'https://[2606:4700:4700::1111]/', 'http://localhost:3000/'])('lets %s through (names are checked at delivery)', (url) => {
    expect(forbiddenWebhookUrl(url)).toBeNull();
  });
});
