import { describe, expect, it } from 'vitest';
import type { LookupAddress } from 'node:dns';
import { guardedLookup, isPrivateAddress, webhookUrlProblem } from '../../../src/alerts/webhook-url.ts';
import type { WebhookPolicy } from '../../../src/alerts/webhook-url.ts';

const strict: WebhookPolicy = { allowPrivate: false, allowHttp: false, hosts: undefined };

describe('webhookUrlProblem: the default policy (https, public addresses)', () => {
  it.each(['https://hooks.example.org/alerts', 'https://hooks.example.org:8443/a?x=1', 'https://[2001:4860::1]/x', 'https://93.184.216.34/x'])(
    'accepts %s',
    (url) => expect(webhookUrlProblem(url, strict)).toBeUndefined(),
  );

  it.each([
    ['not a url', /not a URL/],
    ['/relative', /not a URL/],
    ['http://hooks.example.org/x', /https:\/\//],
    ['ftp://hooks.example.org/x', /https:\/\//],
    ['file:///etc/passwd', /https:\/\//],
    ['https://user:secret@hooks.example.org/x', /credentials/],
    ['https://user@hooks.example.org/x', /credentials/],
    ['https://hooks.example.org/x#frag', /fragment/],
  ])('refuses %s', (url, why) => expect(webhookUrlProblem(url, strict)).toMatch(why));

  it.each([
    'https://127.0.0.1/x', 'https://127.1/x', 'https://2130706433/x', 'https://0x7f000001/x', 'https://0.0.0.0/x', 'https://0/x',
    'https://10.1.2.3/x', 'https://172.16.0.1/x', 'https://192.168.1.1/x', 'https://100.64.0.1/x',
    'https://169.254.169.254/latest/meta-data', 'https://224.0.0.1/x', 'https://[::1]/x', 'https://[::]/x',
    'https://[fe80::1]/x', 'https://[fd00::1]/x', 'https://[::ffff:127.0.0.1]/x', 'https://[::ffff:169.254.169.254]/x',
    'https://[0:0:0:0:0:ffff:a00:1]/x', 'https://[64:ff9b::7f00:1]/x', 'https://[::127.0.0.1]/x',
  ])('refuses the loopback, private or link-local address in %s', (url) => {
    expect(webhookUrlProblem(url, strict)).toMatch(/loopback, private or link-local/);
  });

  it.each(['https://localhost/x', 'https://LOCALHOST:8443/x', 'https://localhost./x', 'https://api.localhost/x', 'https://api.localhost./x'])(
    'refuses the loopback name in %s',
    (url) => expect(webhookUrlProblem(url, strict)).toMatch(/loopback name/),
  );

  it('allows http and private addresses only when told to', () => {
    const open: WebhookPolicy = { allowPrivate: true, allowHttp: true, hosts: undefined };
    expect(webhookUrlProblem('http://127.0.0.1:9999/hook', open)).toBeUndefined();
    expect(webhookUrlProblem('http://localhost:9999/hook', open)).toBeUndefined();
    expect(webhookUrlProblem('http://127.0.0.1:9999/hook', { ...open, allowPrivate: false })).toMatch(/loopback/);
    expect(webhookUrlProblem('http://hooks.example.org/hook', { ...open, allowHttp: false })).toMatch(/https/);
    // Credentials stay refused whatever the policy.
    expect(webhookUrlProblem('http://u:p@127.0.0.1/hook', open)).toMatch(/credentials/);
  });
});

describe('webhookUrlProblem: ALERT_WEBHOOK_HOSTS', () => {
  const hosts: WebhookPolicy = { ...strict, hosts: ['hooks.example.org', '*.hospital.example', '203.0.113.9', '2001:db8::5'] };
  it.each(['https://hooks.example.org/x', 'https://HOOKS.example.org/x', 'https://hospital.example/x', 'https://siem.hospital.example/x', 'https://a.b.hospital.example/x', 'https://203.0.113.9/x', 'https://[2001:db8::5]/x'])(
    'accepts %s',
    (url) => expect(webhookUrlProblem(url, hosts)).toBeUndefined(),
  );
  it.each(['https://evil.example.org/x', 'https://hooks.example.org.evil.net/x', 'https://evilhospital.example/x', 'https://hospital.example.evil/x', 'https://203.0.113.10/x', 'https://[2001:db8::6]/x'])(
    'refuses %s, naming the setting',
    (url) => expect(webhookUrlProblem(url, hosts)).toMatch(/not in ALERT_WEBHOOK_HOSTS/),
  );
  it('still refuses a private address the list names, unless private addresses are allowed', () => {
    const p: WebhookPolicy = { ...strict, hosts: ['127.0.0.1', 'localhost'] };
    expect(webhookUrlProblem('https://127.0.0.1/x', p)).toMatch(/loopback/);
    expect(webhookUrlProblem('https://localhost/x', p)).toMatch(/loopback/);
    expect(webhookUrlProblem('https://127.0.0.1/x', { ...p, allowPrivate: true })).toBeUndefined();
  });
});

describe('isPrivateAddress', () => {
  it.each(['127.0.0.1', '127.255.255.254', '10.0.0.1', '172.31.255.255', '192.168.0.1', '169.254.1.1', '100.127.0.1', '0.0.0.0', '255.255.255.255',
    '::1', '::', 'fe80::abcd', 'fc00::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::7f00:1', 'not-an-ip'])(
    '%s is private',
    (a) => expect(isPrivateAddress(a)).toBe(true),
  );
  it.each(['8.8.8.8', '93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])('%s is public', (a) => expect(isPrivateAddress(a)).toBe(false));
});

describe('guardedLookup: the address actually connected to is checked', () => {
  const lookup = (policy: WebhookPolicy, host: string, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>((resolve) =>
      guardedLookup(policy)(host, { all }, (err, address, family) => resolve({ err, address, family })),
    );

  it('refuses a name that resolves to loopback when private addresses are not allowed', async () => {
    for (const all of [true, false]) {
      const r = await lookup(strict, 'localhost', all);
      expect(r.err?.code).toBe('EWEBHOOKPRIVATE');
      expect(r.err?.message).toMatch(/localhost resolves to .* loopback/);
    }
  });

  it('answers as dns.lookup does when they are allowed (one address, or all of them)', async () => {
    const open = { ...strict, allowPrivate: true };
    const one = await lookup(open, 'localhost', false);
    expect(one.err).toBeNull();
    expect(isPrivateAddress(one.address as string)).toBe(true);
    expect([4, 6]).toContain(one.family);
    const all = await lookup(open, 'localhost', true);
    expect(Array.isArray(all.address) && all.address.length > 0).toBe(true);
  });

  it('passes resolution errors through', async () => {
    const r = await lookup(strict, 'no-such-host.invalid', true);
    expect(r.err?.code).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });
});
