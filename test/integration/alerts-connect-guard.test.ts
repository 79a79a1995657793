import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LookupAddress } from 'node:dns';
import { createWebhookSender } from '../../src/services/alert-delivery.ts';
import { guardedLookup } from '../../src/services/webhook-url.ts';
import type { Config } from '../../src/config.ts';
import { flakyReceiver } from '../support/alerts.ts';

// DNS rebinding: a name that passes the URL check when the subscription is written but resolves
// to loopback when the alert is sent. The address is checked where the connection is made.
// The resolver is stubbed so that public-looking names point at a receiver on loopback, or at
// addresses that reach one in disguise (tunnels, translation prefixes, reserved ranges).

const REBOUND: Record<string, string[]> = {
  'hooks.rebind.example': ['127.0.0.1'],
  '6to4.rebind.example': ['2002:7f00:1::'],
  'teredo.rebind.example': ['2001:0:4136:e378:8000:63bf:3fff:fdd2'],
  'nat64.rebind.example': ['64:ff9b::7f00:1'],
  'mapped.rebind.example': ['::ffff:127.0.0.1'],
  'compat.rebind.example': ['::127.0.0.1'],
  'bench.rebind.example': ['198.18.0.1'],
  'testnet.rebind.example': ['192.0.2.1'],
  'cgnat.rebind.example': ['100.64.0.1'],
  'metadata.rebind.example': ['169.254.169.254'],
  'broadcast.rebind.example': ['255.255.255.255'],
  'ula.rebind.example': ['fc00::1'],
  'mixed.rebind.example': ['8.8.8.8', '2002:7f00:1::'],
  'public.rebind.example': ['8.8.8.8', '2606:4700:4700::1111'],
};

vi.mock('node:dns', async (importOriginal) => {
  const dns = await importOriginal<typeof import('node:dns')>();
  const lookup = (hostname: string, options: unknown, callback: (...args: unknown[]) => void) => {
    const addresses = REBOUND[hostname];
    if (addresses) {
      const all = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      return (options as { all?: boolean }).all ? callback(null, all) : callback(null, all[0]!.address, all[0]!.family);
    }
    return (dns.lookup as any)(hostname, options, callback);
  };
  return { ...dns, default: { ...dns, lookup }, lookup };
});

const r = flakyReceiver();
beforeAll(() => r.start());
afterAll(() => r.stop());

function sender(allowPrivate: boolean) {
  const alerts = { webhookTimeoutMs: 2000, allowPrivate, allowHttp: true, hosts: undefined } as Config['alerts'];
  return createWebhookSender({ config: { alerts } as Config });
}

describe('the connected address is checked, not only the URL', () => {
  it('refuses a public name that resolves to loopback when private addresses are not allowed', async () => {
    const s = sender(false);
    try {
      const url = r.url.replace('127.0.0.1', 'hooks.rebind.example');
      const result = await s.post(url, '{}', { 'idempotency-key': 'k1' });
      expect(result).toMatchObject({ ok: false, status: null });
      expect(!result.ok && result.error).toMatch(/EWEBHOOKPRIVATE: hooks\.rebind\.example resolves to 127\.0\.0\.1/);
      expect(r.requests).toHaveLength(0);
    } finally {
      await s.close();
    }
  });

  it('connects through the same resolver when private addresses are allowed (the stub is in use)', async () => {
    const s = sender(true);
    try {
      const result = await s.post(r.url.replace('127.0.0.1', 'hooks.rebind.example'), '{}', { 'idempotency-key': 'k2' });
      expect(result).toEqual({ ok: true, status: 200 });
      expect(r.requests.map((q) => q.key)).toEqual(['k2']);
    } finally {
      await s.close();
    }
  });

  it('refuses `localhost` and a loopback IP again at send time (the policy may have tightened since the subscription)', async () => {
    const s = sender(false);
    try {
      const port = new URL(r.url).port;
      const viaName = await s.post(`http://localhost:${port}/hook`, '{}', {});
      expect(!viaName.ok && viaName.error).toMatch(/loopback name/);
      const viaIp = await s.post(r.url, '{}', {});
      expect(!viaIp.ok && viaIp.error).toMatch(/127\.0\.0\.1 is not a public unicast address \(loopback\)/);
      expect(r.requests.map((q) => q.key)).toEqual(['k2']);
    } finally {
      await s.close();
    }
  });
});

// The resolved address is judged as a URL's would be. Only the lookup the sender's agent uses is
// called here: nothing connects, so no address beyond loopback is ever tried.
describe('the resolved address is classified like an address in a URL', () => {
  const strict = { allowPrivate: false, allowHttp: false, hosts: undefined };
  const lookup = (policy: typeof strict, host: string, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[] }>((resolve) =>
      guardedLookup(policy)(host, { all }, (err, address) => resolve({ err, address })),
    );

  it.each([
    ['6to4.rebind.example', /2002:7f00:1::, .*\(6to4\)/],
    ['teredo.rebind.example', /\(teredo\)/],
    ['nat64.rebind.example', /\(rfc6052 \(embeds 127\.0\.0\.1, loopback\)\)/],
    ['mapped.rebind.example', /\(ipv4Mapped \(embeds 127\.0\.0\.1, loopback\)\)/],
    ['compat.rebind.example', /\(outside 2000::\/3\)/],
    ['bench.rebind.example', /198\.18\.0\.1, .*\(reserved\)/],
    ['testnet.rebind.example', /192\.0\.2\.1, .*\(reserved\)/],
    ['cgnat.rebind.example', /\(carrierGradeNat\)/],
    ['metadata.rebind.example', /\(linkLocal\)/],
    ['broadcast.rebind.example', /\(broadcast\)/],
    ['ula.rebind.example', /\(uniqueLocal\)/],
    ['mixed.rebind.example', /mixed\.rebind\.example resolves to 2002:7f00:1::, not a public unicast address \(6to4\)/],
  ])('refuses %s', async (host, why) => {
    for (const all of [true, false]) {
      const r = await lookup(strict, host, all);
      expect(r.err?.code).toBe('EWEBHOOKPRIVATE');
      expect(r.err?.message).toMatch(why);
    }
  });

  it('answers with public addresses, and with any address under ALERT_WEBHOOK_ALLOW_PRIVATE', async () => {
    expect((await lookup(strict, 'public.rebind.example', false)).address).toBe('8.8.8.8');
    expect((await lookup(strict, 'public.rebind.example', true)).address).toHaveLength(2);
    for (const host of ['6to4.rebind.example', 'nat64.rebind.example', 'testnet.rebind.example']) {
      const r = await lookup({ ...strict, allowPrivate: true }, host, false);
      expect(r.err).toBeNull();
      expect(r.address).toBe(REBOUND[host]![0]);
    }
  });
});
