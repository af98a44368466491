import { describe, expect, it } from 'vitest';
import { addressPrefix, allowList, forbiddenReason } from '../../src/domain/address-policy.js';

describe('address policy', () => {
  it('refuses internal addresses in every spelling, and lets an allowed range through', () => {
    const none = allowList([]);
    for (const [address, why] of [
      ['127.0.0.1', 'loopback'],
      ['127.255.0.9', 'loopback'],
      ['::1', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['10.1.2.3', 'private'],
      ['172.16.0.1', 'private'],
      ['192.168.1.1', 'private'],
      ['169.254.169.254', 'link-local'],
      ['fe80::1', 'link-local'],
      ['fd00::1', 'private'],
      ['::ffff:0:7f00:1', 'IPv4-translated'],
      ['::7f00:1', 'IPv4-compatible'],
    ]) {
      expect(forbiddenReason(address, none), address).toBe(why);
    }
    expect(forbiddenReason('127.0.0.1', allowList([{ address: '127.0.0.1', prefix: 32, type: 'ipv4' }]))).toBeUndefined();
    expect(forbiddenReason('127.0.0.2', allowList([{ address: '127.0.0.1', prefix: 32, type: 'ipv4' }]))).toBe('loopback');
    expect(forbiddenReason('not-an-ip', none)).toBe('not an IP address');
  });

  it('counts a host by its network: a /24, a /64', () => {
    expect(addressPrefix('127.0.0.1')).toBe('127.0.0.0/24');
    expect(addressPrefix('127.0.0.200')).toBe('127.0.0.0/24');
    expect(addressPrefix('::ffff:127.0.1.5')).toBe('127.0.1.0/24');
    expect(addressPrefix('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressPrefix('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(addressPrefix('::1')).toBe('0:0:0:0::/64');
  });
});
