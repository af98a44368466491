import net from 'node:net';
import { InvalidError } from '../errors.js';

/**
 * Addresses a user's URL (a webhook) must never make Skiff reach: this host,
 * the private networks around it, link-local (cloud metadata), unspecified,
 * multicast and the IPv6 forms that embed an IPv4 address.
 */
const FORBIDDEN: readonly [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'private'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'private'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'private'],
  ['224.0.0.0', 3, 'ipv4', 'multicast or reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['::', 96, 'ipv6', 'IPv4-compatible'],
  ['::ffff:0:0', 96, 'ipv6', 'IPv4-mapped'],
  ['::ffff:0:0:0', 96, 'ipv6', 'IPv4-translated'],
  ['64:ff9b::', 96, 'ipv6', 'private'],
  ['fc00::', 7, 'ipv6', 'private'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

/** ::ffff:a.b.c.d (however it is written) is the IPv4 address a.b.c.d. */
function unmapped(address: string): string {
  if (net.isIPv6(address)) {
    const m = /^(?:0{0,4}:){0,5}:?ffff:(.+)$/i.exec(address.replace(/^::/, ''));
    if (m) {
      if (net.isIPv4(m[1])) return m[1];
      const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(m[1]);
      if (hex) {
        const [hi, lo] = [parseInt(hex[1], 16), parseInt(hex[2], 16)];
        return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
      }
    }
  }
  return address;
}

/** The ranges an admin allows anyway (SKIFF_HOOKS_ALLOW), as one list. */
export function allowList(ranges: readonly { address: string; prefix: number; type: 'ipv4' | 'ipv6' }[]): net.BlockList {
  const list = new net.BlockList();
  for (const r of ranges) list.addSubnet(r.address, r.prefix, r.type);
  return list;
}

const forbidden = FORBIDDEN.map(([address, prefix, type, why]) => {
  const list = new net.BlockList();
  list.addSubnet(address, prefix, type);
  return { list, why };
});

/** Why an address may not be reached, or undefined when it may: a range an admin allowed wins. */
export function forbiddenReason(address: string, allowed: net.BlockList): string | undefined {
  const ip = unmapped(address);
  const type = net.isIPv4(ip) ? 'ipv4' : net.isIPv6(ip) ? 'ipv6' : undefined;
  if (!type) return 'not an IP address';
  if (allowed.check(ip, type)) return undefined;
  return forbidden.find((f) => f.list.check(ip, type))?.why;
}

/** Why a name that resolved to these addresses may not be reached (the first forbidden one decides), or undefined. */
export function forbiddenResolution(hostname: string, addresses: readonly string[], allowed: net.BlockList): string | undefined {
  for (const address of addresses) {
    const why = forbiddenReason(address, allowed);
    if (why) return `${hostname} resolves to ${address}, a ${why} address`;
  }
  return undefined;
}

/** A URL's host as an IP address, when it is one (URL has already turned 0x7f000001 into 127.0.0.1). */
export function literalAddress(url: URL): string | undefined {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return net.isIP(host) ? host : undefined;
}

/** Refuses a URL whose host is a literal forbidden address, naming why. */
export function assertReachableLiteral(url: URL, allowed: net.BlockList): void {
  const ip = literalAddress(url);
  const why = ip === undefined ? undefined : forbiddenReason(ip, allowed);
  if (why) throw new InvalidError(`${url.hostname} is a ${why} address; a webhook must go to a public host`);
}

/** The network an address belongs to, for counting a host's connections together: its /24 (IPv4), its /64 (IPv6). */
export function addressPrefix(address: string): string {
  const ip = unmapped(address);
  if (net.isIPv4(ip)) return `${ip.split('.').slice(0, 3).join('.')}.0/24`;
  if (!net.isIPv6(ip)) return ip;
  const [head, tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
