import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createWebhookSender } from '../../src/services/alert-delivery.ts';
import type { Config } from '../../src/config.ts';
import { flakyReceiver } from '../support/alerts.ts';

// DNS rebinding: a name that passes the URL check when the subscription is written but resolves
// to loopback when the alert is sent. The address is checked where the connection is made.
// The resolver is stubbed so that a public-looking name points at a receiver on loopback.

vi.mock('node:dns', async (importOriginal) => {
  const dns = await importOriginal<typeof import('node:dns')>();
  const lookup = (hostname: string, options: unknown, callback: (...args: unknown[]) => void) => {
    if (hostname === 'hooks.rebind.example') {
      const all = [{ address: '127.0.0.1', family: 4 }];
      return (options as { all?: boolean }).all ? callback(null, all) : callback(null, '127.0.0.1', 4);
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
      expect(!viaIp.ok && viaIp.error).toMatch(/loopback, private or link-local/);
      expect(r.requests.map((q) => q.key)).toEqual(['k2']);
    } finally {
      await s.close();
    }
  });
});
