import ipaddr from 'ipaddr.js';

/**
 * Why a webhook URL may not be used, or null when it may. At submission only literal
 * addresses can be judged (a hostname is checked on the socket at delivery, after DNS):
 * anything but a public unicast address is refused: private, loopback, link-local (cloud
 * metadata at 169.254.169.254), unique-local, carrier-grade NAT, unspecified, multicast,
 * reserved, and IPv4 mapped into IPv6. A name such as `localhost` passes here and is
 * refused at delivery, when it resolves to a loopback address.
 */
export function forbiddenWebhookUrl(url: string): string | null {
  const parsed = new URL(url);
  // WHATWG URL parsing already normalises 0x7f.1, 2130706433 and friends to dotted quads.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!ipaddr.isValid(host)) return null;
  const range = ipaddr.parse(host).range();
  return range === 'unicast' ? null : `${host} is a ${range} address`;
}
