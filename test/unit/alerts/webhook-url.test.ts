import { describe, expect, it } from 'vitest';
import type { LookupAddress } from 'node:dns';
import { guardedLookup, refusedAddressClass, webhookUrlProblem } from '../../../src/services/webhook-url.ts';
import type { WebhookPolicy } from '../../../src/services/webhook-url.ts';

const strict: WebhookPolicy = { allowPrivate: false, allowHttp: false, hosts: undefined };

describe('webhookUrlProblem: the default policy (https, public addresses)', () => {
  it.each([
    'https://hooks.example.org/alerts',
    'https://hooks.example.org:8443/a?x=1',
    'https://[2001:4860::1]/x',
    'https://93.184.216.34/x',
  ])('accepts %s', (url) => expect(webhookUrlProblem(url, strict)).toBeUndefined());

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
    'https://127.0.0.1/x',
    'https://127.1/x',
    'https://2130706433/x',
    'https://0x7f000001/x',
    'https://0.0.0.0/x',
    'https://0/x',
    'https://10.1.2.3/x',
    'https://172.16.0.1/x',
    'https://192.168.1.1/x',
    'https://100.64.0.1/x',
    'https://169.254.169.254/latest/meta-data',
    'https://224.0.0.1/x',
    'https://[::1]/x',
    'https://[::]/x',
    'https://[fe80::1]/x',
    'https://[fd00::1]/x',
    'https://[::ffff:127.0.0.1]/x',
    'https://[::ffff:169.254.169.254]/x',
    'https://[0:0:0:0:0:ffff:a00:1]/x',
    'https://[64:ff9b::7f00:1]/x',
    'https://[::127.0.0.1]/x',
  ])('refuses the loopback, private or link-local address in %s', (url) => {
    expect(webhookUrlProblem(url, strict)).toMatch(
      /is not a public unicast address \(.*(loopback|unspecified|private|linkLocal|carrierGradeNat|multicast|uniqueLocal|outside 2000::\/3)/,
    );
  });

  it.each([
    'https://localhost/x',
    'https://LOCALHOST:8443/x',
    'https://localhost./x',
    'https://api.localhost/x',
    'https://api.localhost./x',
  ])('refuses the loopback name in %s', (url) => expect(webhookUrlProblem(url, strict)).toMatch(/loopback name/));

  it('allows http and private addresses only when told to', () => {
    const open: WebhookPolicy = { allowPrivate: true, allowHttp: true, hosts: undefined };
    expect(webhookUrlProblem('http://127.0.0.1:9999/hook', open)).toBeUndefined();
    expect(webhookUrlProblem('http://localhost:9999/hook', open)).toBeUndefined();
    expect(webhookUrlProblem('http://127.0.0.1:9999/hook', { ...open, allowPrivate: false })).toMatch(/loopback/);
    // The opt-out lifts every address class, the tunnels and the reserved ranges included.
    for (const host of ['[2002:7f00:1::]', '[64:ff9b::7f00:1]', '198.18.0.1', '192.0.2.1', '[2001:db8::1]']) {
      expect(webhookUrlProblem(`http://${host}:9999/hook`, open)).toBeUndefined();
      expect(webhookUrlProblem(`http://${host}:9999/hook`, { ...open, allowPrivate: false })).toMatch(/not a public unicast address/);
    }
    expect(webhookUrlProblem('http://hooks.example.org/hook', { ...open, allowHttp: false })).toMatch(/https/);
    // Credentials stay refused whatever the policy.
    expect(webhookUrlProblem('http://u:p@127.0.0.1/hook', open)).toMatch(/credentials/);
  });
});

describe('webhookUrlProblem: ALERT_WEBHOOK_HOSTS', () => {
  const hosts: WebhookPolicy = { ...strict, hosts: ['hooks.example.org', '*.hospital.example', '93.184.216.34', '2606:4700:4700::1111'] };
  it.each([
    'https://hooks.example.org/x',
    'https://HOOKS.example.org/x',
    'https://hospital.example/x',
    'https://siem.hospital.example/x',
    'https://a.b.hospital.example/x',
    'https://93.184.216.34/x',
    'https://[2606:4700:4700::1111]/x',
  ])('accepts %s', (url) => expect(webhookUrlProblem(url, hosts)).toBeUndefined());
  it.each([
    'https://evil.example.org/x',
    'https://hooks.example.org.evil.net/x',
    'https://evilhospital.example/x',
    'https://hospital.example.evil/x',
    'https://93.184.216.35/x',
    'https://[2606:4700:4700::1001]/x',
  ])('refuses %s, naming the setting', (url) => expect(webhookUrlProblem(url, hosts)).toMatch(/not in ALERT_WEBHOOK_HOSTS/));
  it('still refuses a private address the list names, unless private addresses are allowed', () => {
    const p: WebhookPolicy = { ...strict, hosts: ['127.0.0.1', 'localhost'] };
    expect(webhookUrlProblem('https://127.0.0.1/x', p)).toMatch(/loopback/);
    expect(webhookUrlProblem('https://localhost/x', p)).toMatch(/loopback/);
    expect(webhookUrlProblem('https://127.0.0.1/x', { ...p, allowPrivate: true })).toBeUndefined();
  });
});

// Each range an attacker used against the earlier guard, and the ones around it. The class is
// named in the answer, so the client knows why.
const REFUSED: [string, RegExp][] = [
  ['2002:7f00:1::', /^6to4$/], // 6to4 embedding 127.0.0.1
  ['2002:808:808::1', /^6to4$/], // refused even when the embedded address is public
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /^teredo$/],
  ['64:ff9b::7f00:1', /^rfc6052 \(embeds 127\.0\.0\.1, loopback\)$/], // NAT64
  ['64:ff9b::a9fe:a9fe', /^rfc6052 \(embeds 169\.254\.169\.254, linkLocal\)$/],
  ['64:ff9b:1::808:808', /^rfc6052$/], // local-use NAT64 (RFC 8215)
  ['::ffff:127.0.0.1', /^ipv4Mapped \(embeds 127\.0\.0\.1, loopback\)$/],
  ['::ffff:c612:1', /^ipv4Mapped \(embeds 198\.18\.0\.1, reserved\)$/],
  ['::ffff:0:7f00:1', /^rfc6145$/], // IPv4-translated (SIIT)
  ['::127.0.0.1', /^outside 2000::\/3$/], // IPv4-compatible, as libuv prints it
  ['::7f00:1', /^outside 2000::\/3$/],
  ['::8.8.8.8', /^outside 2000::\/3$/],
  ['4000::1', /^outside 2000::\/3$/],
  ['198.18.0.1', /^reserved$/], // benchmarking
  ['192.0.2.1', /^reserved$/], // TEST-NET-1
  ['198.51.100.1', /^reserved$/], // TEST-NET-2
  ['203.0.113.1', /^reserved$/], // TEST-NET-3
  ['2001:db8::1', /^reserved$/], // IPv6 documentation
  ['2001:2::1', /^benchmarking$/],
  ['100.64.0.1', /^carrierGradeNat$/],
  ['224.0.0.1', /^multicast$/],
  ['ff02::1', /^multicast$/],
  ['240.0.0.1', /^reserved$/],
  ['255.255.255.255', /^broadcast$/],
  ['0.0.0.0', /^unspecified$/],
  ['::', /^unspecified$/],
  ['127.0.0.1', /^loopback$/],
  ['::1', /^loopback$/],
  ['10.0.0.1', /^private$/],
  ['172.31.255.255', /^private$/],
  ['192.168.0.1', /^private$/],
  ['169.254.169.254', /^linkLocal$/],
  ['fe80::1', /^linkLocal$/],
  ['fe80::1%eth0', /^linkLocal$/],
  ['fc00::1', /^uniqueLocal$/],
  ['fd00::1', /^uniqueLocal$/],
  ['not-an-ip', /^not an IP address$/],
];

describe('refusedAddressClass: only public unicast may receive webhooks', () => {
  it.each(REFUSED)('%s is refused as %s', (address, why) => expect(refusedAddressClass(address)).toMatch(why));
  // Classified only: nothing here connects anywhere.
  it.each([
    '8.8.8.8',
    '93.184.216.34',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '2001:4860::1',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '64:ff9b::8.8.8.8',
  ])('%s is public unicast', (a) => expect(refusedAddressClass(a)).toBeUndefined());
  it.each(REFUSED.filter(([a]) => !a.includes('%') && a !== 'not-an-ip'))('a URL with %s is refused, naming the class', (address) => {
    const host = address.includes(':') ? `[${address}]` : address;
    expect(webhookUrlProblem(`https://${host}/hook`, strict)).toMatch(/is not a public unicast address \(\S+/);
  });
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
      expect(r.err?.message).toMatch(/localhost resolves to \S+, not a public unicast address \(loopback\)/);
    }
  });

  it('answers as dns.lookup does when they are allowed (one address, or all of them)', async () => {
    const open = { ...strict, allowPrivate: true };
    const one = await lookup(open, 'localhost', false);
    expect(one.err).toBeNull();
    expect(refusedAddressClass(one.address as string)).toBe('loopback');
    expect([4, 6]).toContain(one.family);
    const all = await lookup(open, 'localhost', true);
    expect(Array.isArray(all.address) && all.address.length > 0).toBe(true);
  });

  it('passes resolution errors through', async () => {
    const r = await lookup(strict, 'no-such-host.invalid', true);
    expect(r.err?.code).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });
});
