import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollFeed } from '../../src/services/feeds.ts';
import { capturedLog, startTestNode, TAXII } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, indicator, ipv4, postObjects } from '../support/stix.ts';
import { TLP1 } from '../fixtures/tlp-ids.ts';

// docs/feeds.md: GET /feeds/{collection}/{kind}.txt and /feeds/{collection}/indicators.csv, over
// real HTTP: what goes on each list, the CSV, the validators a firewall polls with, and who may
// read a feed with which credentials.

const { lines, log } = capturedLog();
let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ LOG_LEVEL: 'info' }, undefined, { log });
});
afterAll(async () => node?.stop());

async function newCollection(): Promise<{ id: string; base: string }> {
  const c = await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: `feeds ${randomUUID()}` });
  return { id: c.id, base: `/default/collections/${c.id}` };
}

async function newClient(collectionId: string, over: Record<string, unknown> = {}): Promise<{ id: string; token: string; name: string }> {
  const name = `fw-${randomUUID().slice(0, 8)}`;
  const c = await adminJson(node, 'POST', '/admin/clients', {
    name,
    clearance: 'AMBER',
    grants: [{ collection_id: collectionId, can_read: true, can_write: false }],
    ...over,
  });
  return { id: c.id, token: c.token, name };
}

/** A GET of a feed path: as the admin by default, with `token` in the header, or none (null). */
async function feed(path: string, init: RequestInit & { token?: string | null } = {}) {
  const res = await node.request(path, { ...init, headers: { accept: '*/*', ...(init.headers as Record<string, string>) } });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const hash = (c: string, n: number) => c.repeat(n);
const future = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

describe('the lists', () => {
  let col: { id: string; base: string };
  const url = 'https://evil.example.com/login?a=1,b="2"';
  beforeAll(async () => {
    col = await newCollection();
    await postObjects(node, col.base, [
      indicator({ pattern: "[ipv4-addr:value = '198.51.100.7'] OR [ipv4-addr:value ISSUBSET '203.0.113.9/24']", confidence: 90 }),
      indicator({ pattern: "[ipv6-addr:value = '2001:DB8::0:1'] OR [domain-name:value = 'Evil.Example.COM']" }),
      indicator({ pattern: `[url:value = '${url.replace(/'/g, "\\'")}']`, valid_until: future(3600) }),
      indicator({ pattern: `[file:hashes.'SHA-256' = '${hash('A', 64)}' OR file:hashes.MD5 = '${hash('b', 32)}']` }),
      // The same domain in a second indicator: once on the list, twice in the CSV.
      indicator({ pattern: "[domain-name:value = 'evil.example.com']" }),
      ipv4('192.0.2.44'),
      { type: 'domain-name', spec_version: '2.1', id: `domain-name--${randomUUID()}`, value: 'sco.example.org' },
      // Never on a list: an AND, another pattern language, an expired and a revoked indicator.
      indicator({ pattern: "[ipv4-addr:value = '192.0.2.99' AND network-traffic:dst_port = 443]" }),
      indicator({ pattern: "[ipv4-addr:value = '192.0.2.98']", pattern_type: 'snort' }),
      indicator({ pattern: "[ipv4-addr:value = '192.0.2.97']", valid_until: '2024-06-01T00:00:00Z' }),
      indicator({ pattern: "[ipv4-addr:value = '192.0.2.96']", revoked: true }),
    ]);
  });

  it('serves each kind one value a line, normalised, once, in byte order', async () => {
    const expected: Record<string, string> = {
      ipv4: '192.0.2.44\n198.51.100.7\n203.0.113.0/24\n',
      ipv6: '2001:db8::1\n',
      domain: 'evil.example.com\nsco.example.org\n',
      url: `${url}\n`,
      sha256: `${hash('a', 64)}\n`,
      md5: `${hash('b', 32)}\n`,
    };
    for (const [kind, body] of Object.entries(expected)) {
      const got = await feed(`/feeds/${col.id}/${kind}.txt`);
      expect(got.status, kind).toBe(200);
      expect(got.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(got.text, kind).toBe(body);
    }
  });

  it('serves URLs without their scheme on asking (scheme=omit), once each, and refuses the parameter elsewhere', async () => {
    const urls = await newCollection();
    await postObjects(node, urls.base, [
      indicator({
        pattern: "[url:value = 'http://b.example/x'] OR [url:value = 'https://b.example/x'] OR [url:value = 'https://a.example/y']",
      }),
    ]);
    const plain = await feed(`/feeds/${urls.id}/url.txt`);
    expect(plain.text).toBe('http://b.example/x\nhttps://a.example/y\nhttps://b.example/x\n');
    const omitted = await feed(`/feeds/${urls.id}/url.txt?scheme=omit`);
    expect(omitted.text).toBe('a.example/y\nb.example/x\n');
    expect(omitted.headers.get('etag')).not.toBe(plain.headers.get('etag'));
    expect((await feed(`/feeds/${urls.id}/ipv4.txt?scheme=omit`)).status).toBe(400);
    expect((await feed(`/feeds/${urls.id}/url.txt?scheme=keep`)).status).toBe(400);
  });

  it('takes STIX 2.0 indicators, whose patterns are STIX patterns without a pattern_type', async () => {
    const legacy = await newCollection();
    const {
      pattern_type: _,
      spec_version: _s,
      ...v20
    } = indicator({ pattern: "[domain-name:value = 'legacy.example.net']", labels: ['malicious-activity'] });
    await postObjects(node, legacy.base, [v20]);
    expect((await feed(`/feeds/${legacy.id}/domain.txt`)).text).toBe('legacy.example.net\n');
  });

  it('never lets a stored pattern add a line to a list', async () => {
    const hostile = await newCollection();
    const values = [
      'evil.example.com\n0.0.0.0/0',
      'evil.example.com\r\nexample.org',
      'evil.example.com\u2028x.example',
      'evil.example.com #x',
    ];
    const objects = values.map((v) =>
      indicator({ pattern: `[domain-name:value = '${v}'] OR [ipv4-addr:value = '${v}'] OR [url:value = 'http://${v}/']` }),
    );
    // A single label would block a whole top-level domain.
    objects.push(indicator({ pattern: "[domain-name:value = 'com']" }));
    const status = await postObjects(node, hostile.base, objects);
    expect(status.success_count).toBe(objects.length);
    for (const kind of ['domain', 'ipv4', 'url']) expect((await feed(`/feeds/${hostile.id}/${kind}.txt`)).text, kind).toBe('');
    expect((await feed(`/feeds/${hostile.id}/indicators.csv`)).text).toBe('value,type,indicator_id,confidence,tlp,valid_until\r\n');
  });

  it('serves the CSV: one row per value and object, RFC 4180 quoting', async () => {
    const got = await feed(`/feeds/${col.id}/indicators.csv`);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const rows = got.text.split('\r\n');
    expect(rows[0]).toBe('value,type,indicator_id,confidence,tlp,valid_until');
    expect(rows.at(-1)).toBe('');
    expect(rows).toHaveLength(1 + 10 + 1);
    expect(rows.filter((r) => r.startsWith('evil.example.com,domain,indicator--'))).toHaveLength(2);
    expect(rows.find((r) => r.startsWith('198.51.100.7,'))).toMatch(/^198\.51\.100\.7,ipv4,indicator--[0-9a-f-]{36},90,AMBER,$/);
    expect(rows.find((r) => r.startsWith('192.0.2.44,'))).toMatch(/^192\.0\.2\.44,ipv4,ipv4-addr--[0-9a-f-]{36},,AMBER,$/);
    expect(rows.find((r) => r.startsWith('"https'))).toMatch(
      /^"https:\/\/evil\.example\.com\/login\?a=1,b=""2""",url,indicator--[0-9a-f-]{36},,AMBER,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/,
    );
  });

  it('answers HEAD with the headers alone, an unknown kind or collection with 404 and the usual error body', async () => {
    const head = await node.request(`/feeds/${col.id}/ipv4.txt`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(await head.text()).toBe('');
    for (const path of [
      `/feeds/${col.id}/sha1.txt`,
      `/feeds/${col.id}/ipv4.csv`,
      `/feeds/${randomUUID()}/ipv4.txt`,
      '/feeds/nope/ipv4.txt',
    ]) {
      const got = await feed(path);
      expect(got.status, path).toBe(404);
      expect(JSON.parse(got.text)).toMatchObject({ http_status: '404' });
    }
  });

  it('serves a value held by several objects once, whichever of them the reader may see, however the reads fall', async () => {
    const dup = await newCollection();
    const green = await newClient(dup.id, { clearance: 'GREEN' });
    const red = (v: string) => indicator({ pattern: `[ipv4-addr:value = '${v}']`, object_marking_refs: [TLP1.red] });
    const visible = (v: string) => indicator({ pattern: `[ipv4-addr:value = '${v}']`, object_marking_refs: [TLP1.green] });
    await postObjects(node, dup.base, [
      red('192.0.2.1'),
      red('192.0.2.1'),
      visible('192.0.2.1'),
      visible('192.0.2.1'),
      red('192.0.2.2'),
      visible('192.0.2.3'),
    ]);
    const who = { kind: 'client', id: green.id, name: green.name, role: 'client', clearance: 1, ownOrg: false, peerAmber: false } as const;
    for (const batch of [1, 2, 3, 10_000]) {
      for (const [format, want] of [
        ['ipv4', '192.0.2.1\n192.0.2.3\n'],
        ['csv', 3],
      ] as const) {
        const answer = await pollFeed(node.deps, who, dup.id, format, {}, { batch });
        let text = '';
        for await (const chunk of answer.body!()) text += chunk;
        if (typeof want === 'string') expect(text, `batch ${batch}`).toBe(want);
        else expect(text.split('\r\n').slice(1, -1), `batch ${batch}`).toHaveLength(want);
      }
    }
  });

  it('streams a list longer than one read of the database, every value once, in order', async () => {
    const big = await newCollection();
    const values = Array.from({ length: 23_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const chunks = [0, 1, 2, 3, 4].map((k) => values.slice(k * 5000, (k + 1) * 5000));
    await postObjects(
      node,
      big.base,
      chunks.map((part) => indicator({ pattern: `[ipv4-addr:value IN (${part.map((v) => `'${v}'`).join(', ')})]` })),
    );
    const got = await feed(`/feeds/${big.id}/ipv4.txt`);
    expect(got.text).toBe(`${[...values].sort().join('\n')}\n`);
  });
});

describe('ETag and Last-Modified', () => {
  it('answers 304 with no body to a poll that holds the current tag, and a new one once a new indicator arrives', async () => {
    const col = await newCollection();
    await postObjects(node, col.base, [indicator({ pattern: "[domain-name:value = 'a.example.net']" })]);
    const first = await feed(`/feeds/${col.id}/domain.txt`);
    const etag = first.headers.get('etag')!;
    expect(first.headers.get('cache-control')).toBe('private, no-cache');
    const again = await feed(`/feeds/${col.id}/domain.txt`, { headers: { 'if-none-match': etag } });
    expect(again).toMatchObject({ status: 304, text: '' });
    expect(again.headers.get('etag')).toBe(etag);
    await postObjects(node, col.base, [indicator({ pattern: "[domain-name:value = 'b.example.net']" })]);
    const changed = await feed(`/feeds/${col.id}/domain.txt`, { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.text).toBe('a.example.net\nb.example.net\n');
    expect(changed.headers.get('etag')).not.toBe(etag);
  });

  it('changes when an indicator is revoked, when one expires, and when one is deleted', async () => {
    const col = await newCollection();
    const revoked = indicator({ pattern: "[ipv4-addr:value = '192.0.2.1']" });
    const expiring = indicator({ pattern: "[ipv4-addr:value = '192.0.2.2']", valid_until: future(2) });
    const deleted = indicator({ pattern: "[ipv4-addr:value = '192.0.2.3']" });
    await postObjects(node, col.base, [revoked, expiring, deleted]);
    const poll = async (etag?: string) => {
      const got = await feed(`/feeds/${col.id}/ipv4.txt`, etag ? { headers: { 'if-none-match': etag } } : {});
      return { status: got.status, text: got.text, etag: got.headers.get('etag')! };
    };
    let last = await poll();
    expect(last.text).toBe('192.0.2.1\n192.0.2.2\n192.0.2.3\n');

    await postObjects(node, col.base, [{ ...revoked, modified: '2025-01-01T00:00:00.000Z', revoked: true }]);
    let now = await poll(last.etag);
    expect(now).toMatchObject({ status: 200, text: '192.0.2.2\n192.0.2.3\n' });
    last = now;

    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expiring.valid_until as string) - Date.now() + 200)));
    now = await poll(last.etag);
    expect(now).toMatchObject({ status: 200, text: '192.0.2.3\n' });
    last = now;
    expect((await poll(last.etag)).status).toBe(304);

    expect((await node.request(`${col.base}/objects/${deleted.id}/`, { method: 'DELETE' })).status).toBe(200);
    now = await poll(last.etag);
    expect(now).toMatchObject({ status: 200, text: '' });
    expect((await poll(now.etag)).status).toBe(304);
  });

  it('changes when a later version withholds a value from a reader who was served it', async () => {
    const col = await newCollection();
    const client = await newClient(col.id, { clearance: 'GREEN' });
    const green = indicator({ pattern: "[ipv4-addr:value = '192.0.2.5']", object_marking_refs: [TLP1.green] });
    // Stored after it, and still served: the newest object this reader sees stays the same.
    const stays = indicator({ pattern: "[ipv4-addr:value = '192.0.2.6']", object_marking_refs: [TLP1.green] });
    await postObjects(node, col.base, [green]);
    await postObjects(node, col.base, [stays]);
    const first = await feed(`/feeds/${col.id}/ipv4.txt`, { token: client.token });
    expect(first.text).toBe('192.0.2.5\n192.0.2.6\n');
    await postObjects(node, col.base, [{ ...green, modified: '2025-01-01T00:00:00.000Z', object_marking_refs: [TLP1.red] }]);
    const after = await feed(`/feeds/${col.id}/ipv4.txt`, {
      token: client.token,
      headers: { 'if-none-match': first.headers.get('etag')! },
    });
    expect(after).toMatchObject({ status: 200, text: '192.0.2.6\n' });
  });

  it('differs between readers of different clearance, and between lists', async () => {
    const col = await newCollection();
    await postObjects(node, col.base, [indicator({ pattern: "[ipv4-addr:value = '192.0.2.5']", object_marking_refs: [TLP1.green] })]);
    const green = await newClient(col.id, { clearance: 'GREEN' });
    const amber = await newClient(col.id, { clearance: 'AMBER' });
    const tags = new Set<string | null>();
    for (const token of [green.token, amber.token]) tags.add((await feed(`/feeds/${col.id}/ipv4.txt`, { token })).headers.get('etag'));
    tags.add((await feed(`/feeds/${col.id}/domain.txt`, { token: amber.token })).headers.get('etag'));
    expect(tags.size).toBe(3);
    // A tag of another reader is not this reader's.
    const greenTag = (await feed(`/feeds/${col.id}/ipv4.txt`, { token: green.token })).headers.get('etag')!;
    expect((await feed(`/feeds/${col.id}/ipv4.txt`, { token: amber.token, headers: { 'if-none-match': greenTag } })).status).toBe(200);
  });

  it('sends Last-Modified, and answers If-Modified-Since with 304 only when nothing changed since', async () => {
    const col = await newCollection();
    await postObjects(node, col.base, [indicator({ pattern: "[ipv4-addr:value = '192.0.2.8']" })]);
    await new Promise((r) => setTimeout(r, 1100));
    const first = await feed(`/feeds/${col.id}/ipv4.txt`);
    const lastModified = first.headers.get('last-modified')!;
    expect(Date.parse(lastModified)).toBeLessThanOrEqual(Date.now());
    expect((await feed(`/feeds/${col.id}/ipv4.txt`, { headers: { 'if-modified-since': lastModified } })).status).toBe(304);
    await postObjects(node, col.base, [indicator({ pattern: "[ipv4-addr:value = '192.0.2.9']" })]);
    expect((await feed(`/feeds/${col.id}/ipv4.txt`, { headers: { 'if-modified-since': lastModified } })).status).toBe(200);
  });
});

describe('who may read a feed', () => {
  let col: { id: string; base: string };
  let feedClient: { id: string; token: string; name: string };
  beforeAll(async () => {
    col = await newCollection();
    await postObjects(node, col.base, [indicator({ pattern: "[ipv4-addr:value = '192.0.2.10']" })]);
    feedClient = await newClient(col.id, { kind: 'feed' });
  });

  it('takes a feed client token as ?token=, as Bearer, and as HTTP Basic', async () => {
    expect(await feed(`/feeds/${col.id}/ipv4.txt?token=${feedClient.token}`, { token: null })).toMatchObject({
      status: 200,
      text: '192.0.2.10\n',
    });
    expect(await feed(`/feeds/${col.id}/ipv4.txt`, { token: feedClient.token })).toMatchObject({ status: 200 });
    const basic = `Basic ${Buffer.from(`${feedClient.name}:${feedClient.token}`).toString('base64')}`;
    expect(await feed(`/feeds/${col.id}/ipv4.txt`, { headers: { authorization: basic } })).toMatchObject({ status: 200 });
  });

  it("refuses a feed client's token everywhere but the feeds, as an unknown token", async () => {
    const asFeed = { token: feedClient.token, headers: { accept: TAXII } };
    expect((await node.request('/taxii2/', asFeed)).status).toBe(401);
    expect((await node.request(`${col.base}/objects/`, asFeed)).status).toBe(401);
    expect((await node.request(`${col.base}/objects/`, { ...asFeed, method: 'POST', body: '{}' })).status).toBe(401);
    expect((await node.request('/admin/clients', { token: feedClient.token, headers: { accept: 'application/json' } })).status).toBe(401);
    expect((await node.request('/alerts/subscriptions', { token: feedClient.token, headers: { accept: 'application/json' } })).status).toBe(
      401,
    );
  });

  it('refuses ?token= from anyone but a feed client: a client, the admin, an unknown token', async () => {
    const client = await newClient(col.id);
    expect((await feed(`/feeds/${col.id}/ipv4.txt`, { token: client.token })).status).toBe(200);
    for (const token of [client.token, 'test-admin-token-0123456789abcdef', 'vgl_nothing']) {
      const got = await feed(`/feeds/${col.id}/ipv4.txt?token=${encodeURIComponent(token)}`, { token: null });
      expect(got.status).toBe(401);
      expect(got.headers.get('www-authenticate')).toContain('Basic');
    }
    expect((await feed(`/feeds/${col.id}/ipv4.txt?token=${feedClient.token}`, { token: feedClient.token })).status).toBe(400);
  });

  it('answers 404 for a collection the feed client has no grant on, and 401 without credentials', async () => {
    const other = await newCollection();
    expect((await feed(`/feeds/${other.id}/ipv4.txt?token=${feedClient.token}`, { token: null })).status).toBe(404);
    expect((await feed(`/feeds/${col.id}/ipv4.txt`, { token: null })).status).toBe(401);
  });

  it('gives a feed client no write right, ever', async () => {
    const refused = await node.request('/admin/clients', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        name: `fw-${randomUUID().slice(0, 8)}`,
        kind: 'feed',
        grants: [{ collection_id: col.id, can_read: true, can_write: true }],
      }),
    });
    expect(refused.status).toBe(400);
    const put = await node.request(`/admin/clients/${feedClient.id}/grants/${col.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ can_read: true, can_write: true }),
    });
    expect(put.status).toBe(400);
  });

  it('lets no client become a feed client while it holds a write right', async () => {
    const writer = await newClient(col.id, { grants: [{ collection_id: col.id, can_read: true, can_write: true }] });
    const patch = (id: string) =>
      node.request(`/admin/clients/${id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ kind: 'feed' }),
      });
    expect((await patch(writer.id)).status).toBe(400);
    const reader = await newClient(col.id);
    expect((await patch(reader.id)).status).toBe(200);
    expect((await feed(`/feeds/${col.id}/ipv4.txt?token=${reader.token}`, { token: null })).status).toBe(200);
    expect((await node.request(`${col.base}/objects/`, { token: reader.token, headers: { accept: TAXII } })).status).toBe(401);
  });

  it('never writes the token of a URL to the log', async () => {
    lines.length = 0;
    await feed(`/feeds/${col.id}/ipv4.txt?token=${feedClient.token}`, { token: null });
    await feed(`/feeds/${col.id}/nothing.txt?token=${feedClient.token}`, { token: null });
    const requests = lines.filter((l) => l.msg === 'request' && String(l.path).startsWith('/feeds/'));
    expect(requests).toHaveLength(2);
    expect(JSON.stringify(lines)).not.toContain(feedClient.token);
  });
});

describe('rate limits', () => {
  it("count a feed client's polls against its own bucket, as TAXII reads are counted", async () => {
    const limited = await startTestNode({ RATE_LIMIT_PER_MINUTE: '60', RATE_LIMIT_BURST: '2' });
    try {
      const c = await adminJson(limited, 'POST', '/admin/collections', { api_root: 'default', title: 'limited' });
      const fw = await adminJson(limited, 'POST', '/admin/clients', {
        name: 'fw-limited',
        kind: 'feed',
        grants: [{ collection_id: c.id, can_read: true, can_write: false }],
      });
      const poll = () => limited.request(`/feeds/${c.id}/ipv4.txt?token=${fw.token}`, { token: null, headers: { accept: '*/*' } });
      expect((await poll()).status).toBe(200);
      expect((await poll()).status).toBe(200);
      const refused = await poll();
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await limited.stop();
    }
  });
});
