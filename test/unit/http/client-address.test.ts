import { describe, expect, it } from 'vitest';
import { clientAddress, trustedRanges } from '../../../src/http/client-address.ts';

describe("the caller's address", () => {
  const none = trustedRanges([]);
  const proxies = trustedRanges(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);

  it('is the connection’s, and X-Forwarded-For is ignored from a peer that is not a trusted proxy', () => {
    expect(clientAddress('203.0.113.7', undefined, none)).toBe('203.0.113.7');
    expect(clientAddress('203.0.113.7', '198.51.100.1', none)).toBe('203.0.113.7');
    expect(clientAddress('203.0.113.7', '198.51.100.1', proxies)).toBe('203.0.113.7');
    expect(clientAddress('::ffff:203.0.113.7', undefined, none)).toBe('203.0.113.7');
  });

  it('behind trusted proxies, is the right-most address no trusted proxy wrote', () => {
    expect(clientAddress('10.1.2.3', '198.51.100.1', proxies)).toBe('198.51.100.1');
    expect(clientAddress('127.0.0.1', '198.51.100.1, 10.9.9.9', proxies)).toBe('198.51.100.1');
    // What the caller wrote itself, left of what our proxy appended, is not believed.
    expect(clientAddress('10.1.2.3', '192.0.2.66, 198.51.100.1', proxies)).toBe('198.51.100.1');
    expect(clientAddress('::ffff:10.1.2.3', '198.51.100.1', proxies)).toBe('198.51.100.1');
    expect(clientAddress('fd00::5', '[2001:db8::1]', proxies)).toBe('2001:db8::/64');
    // Only proxies, or garbage from one: the last address that parsed.
    expect(clientAddress('10.1.2.3', '10.4.4.4', proxies)).toBe('10.4.4.4');
    expect(clientAddress('10.1.2.3', 'unknown, 10.4.4.4', proxies)).toBe('10.4.4.4');
    expect(clientAddress('10.1.2.3', 'nonsense', proxies)).toBe('10.1.2.3');
  });

  it('keys an IPv6 caller by its /64, which one host commonly holds whole', () => {
    expect(clientAddress('2001:db8:1:2:aaaa::1', undefined, none)).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:db8:1:2:bbbb::9', undefined, none)).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:db8:1:3::1', undefined, none)).toBe('2001:db8:1:3::/64');
  });

  it('is "unknown" without a connection (app.request in tests)', () => {
    expect(clientAddress(undefined, '198.51.100.1', proxies)).toBe('unknown');
  });
});
