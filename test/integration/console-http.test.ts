import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { ADMIN_TOKEN, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { legacyPeerToken } from '../support/peer.ts';
import { adminJson, collectionWithClient, indicator, postObjects } from '../support/stix.ts';
import { TLP1 } from '../fixtures/tlp-ids.ts';
import { consoleGet, consolePost, csrfOf, signIn } from '../browser/console-http.ts';

// The web console over plain HTTP: cookie attributes, CSRF, CSP and the other headers, input
// errors shown as pages (never a 5xx), escaping, and TLP through the console's reads.

let node: TestNode;
let base: string;
let col: Awaited<ReturnType<typeof collectionWithClient>>;
beforeAll(async () => {
  node = await startTestNode();
  base = node.url;
  col = await collectionWithClient(node);
});
afterAll(async () => node?.stop());

const attrs = (res: Response, name: string) => res.headers.getSetCookie().find((l) => l.startsWith(`${name}=`)) ?? '';

describe('headers', () => {
  it('sends a strict CSP and the other security headers on pages and assets', async () => {
    for (const path of ['/console/signin', '/console/assets/console.css', '/console/assets/console.js']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
    const page = await fetch(`${base}/console/signin`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(await page.text()).not.toMatch(/<script>|<style>| style=| on\w+=/);
  });

  it('sends the sign-in page without a session, and everything else to it', async () => {
    for (const path of ['/console', '/console/', '/console/collections', '/console/peers']) {
      const res = await fetch(`${base}${path}`, { redirect: 'manual' });
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location')).toBe('/console/signin');
    }
    const nothing = await consoleGet(base, '/console/nothing-here', new Map());
    expect(nothing.status).toBe(303);
  });
});

describe('sign in', () => {
  it('sets an HttpOnly, SameSite=Strict pre-session cookie scoped to /console, not Secure over http', async () => {
    const res = await fetch(`${base}/console/signin`);
    const line = attrs(res, 'vigil_presession');
    expect(line).toMatch(/HttpOnly/);
    expect(line).toMatch(/SameSite=Strict/);
    expect(line).toMatch(/Path=\/console/);
    expect(line).not.toMatch(/Secure/);
  });

  it('shows an error for a bad token and starts no session', async () => {
    const cookies = new Map<string, string>();
    const form = await consoleGet(base, '/console/signin', cookies);
    const res = await consolePost(base, '/console/signin', cookies, { _csrf: csrfOf(await form.text()), token: 'vgl_not-a-real-token' });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('That token was not accepted');
    expect(cookies.has('vigil_session')).toBe(false);
    const empty = await consolePost(base, '/console/signin', cookies, { _csrf: cookies.get('vigil_presession')!, token: '  ' });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain('enter your client token');
  });

  it('refuses a sign-in without the pre-session token, or from another origin', async () => {
    const cookies = new Map<string, string>();
    const csrf = csrfOf(await (await consoleGet(base, '/console/signin', cookies)).text());
    const token = col.token;
    expect((await consolePost(base, '/console/signin', cookies, { token })).status).toBe(403);
    expect((await consolePost(base, '/console/signin', cookies, { _csrf: 'x'.repeat(43), token })).status).toBe(403);
    expect((await consolePost(base, '/console/signin', new Map(), { _csrf: csrf, token })).status).toBe(403);
    expect((await consolePost(base, '/console/signin', cookies, { _csrf: csrf, token }, { origin: 'https://evil.example' })).status).toBe(
      403,
    );
    expect((await consolePost(base, '/console/signin', cookies, { _csrf: csrf, token }, { 'sec-fetch-site': 'cross-site' })).status).toBe(
      403,
    );
    expect((await consolePost(base, '/console/signin', cookies, { _csrf: csrf, token }, {})).status).toBe(403);
    expect(cookies.has('vigil_session')).toBe(false);
    expect((await consolePost(base, '/console/signin', cookies, { _csrf: csrf, token })).status).toBe(303);
  });

  it('keeps only the SHA-256 of the session id, and never the token', async () => {
    const c = await signIn(base, col.token);
    const id = c.cookies.get('vigil_session')!;
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rows = (
      await sql<{
        id_hash: Uint8Array;
        client_id: string;
        csrf_secret: string;
      }>`SELECT id_hash, client_id, csrf_secret FROM console_sessions`.execute(node.database.db)
    ).rows;
    const mine = rows.find((r) => Buffer.from(r.id_hash).equals(createHash('sha256').update(id).digest()));
    expect(mine?.client_id).toBe(col.clientId);
    expect(mine?.csrf_secret).toBe(c.csrf);
    const dump = JSON.stringify(rows.map((r) => ({ ...r, id_hash: Buffer.from(r.id_hash).toString('hex') })));
    expect(dump).not.toContain(id);
    expect(dump).not.toContain(col.token);
  });

  it('sets the session cookie HttpOnly, SameSite=Strict, Path=/console', async () => {
    const cookies = new Map<string, string>();
    const csrf = csrfOf(await (await consoleGet(base, '/console/signin', cookies)).text());
    const res = await consolePost(base, '/console/signin', cookies, { _csrf: csrf, token: ADMIN_TOKEN });
    expect(res.status).toBe(303);
    const line = attrs(res, 'vigil_session');
    expect(line).toMatch(/HttpOnly/);
    expect(line).toMatch(/SameSite=Strict/);
    expect(line).toMatch(/Path=\/console/);
  });
});

describe('session', () => {
  it('refuses a POST without the session CSRF token (403) and accepts it with', async () => {
    const c = await signIn(base, col.token);
    const bundle = JSON.stringify({ type: 'bundle', id: 'bundle--6a2e0f0a-4c0e-4f51-9d5b-6a0c3f0a7c11', objects: [indicator()] });
    const path = `/console/collections/default/${col.collectionId}/submit`;
    expect((await consolePost(base, path, c.cookies, { bundle })).status).toBe(403);
    expect((await consolePost(base, path, c.cookies, { bundle, _csrf: 'A'.repeat(43) })).status).toBe(403);
    expect((await consolePost(base, path, c.cookies, { bundle, _csrf: c.csrf }, { origin: 'http://evil.example' })).status).toBe(403);
    const ok = await consolePost(base, path, c.cookies, { bundle, _csrf: c.csrf });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toMatch(/^\/console\/status\/default\/[0-9a-f-]{36}$/);
    const status = await consoleGet(base, ok.headers.get('location')!, c.cookies);
    expect(await status.text()).toContain('<dd data-field="success_count">1</dd>');
  });

  it('ends at sign-out: the old cookie no longer works', async () => {
    const c = await signIn(base, col.token);
    const old = new Map(c.cookies);
    const out = await consolePost(base, '/console/signout', c.cookies, { _csrf: c.csrf });
    expect(out.status).toBe(303);
    expect(c.cookies.has('vigil_session')).toBe(false);
    const res = await consoleGet(base, '/console/collections', old);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/signin');
  });

  it('slides its expiry with use, and ends once expired', async () => {
    const c = await signIn(base, col.token);
    const hash = createHash('sha256').update(c.cookies.get('vigil_session')!).digest();
    const hoursLeft = async () =>
      (
        await sql<{
          h: number;
        }>`SELECT extract(epoch FROM expires_at - now())::float8 / 3600 AS h FROM console_sessions WHERE id_hash = ${hash}`.execute(
          node.database.db,
        )
      ).rows[0]?.h;
    await sql`UPDATE console_sessions SET expires_at = now() + interval '1 hour' WHERE id_hash = ${hash}`.execute(node.database.db);
    expect((await consoleGet(base, '/console/collections', c.cookies)).status).toBe(200);
    expect(await hoursLeft()).toBeGreaterThan(11.9);
    await sql`UPDATE console_sessions SET expires_at = now() - interval '1 second' WHERE id_hash = ${hash}`.execute(node.database.db);
    expect((await consoleGet(base, '/console/collections', c.cookies)).status).toBe(303);
  });

  it('ends when the client token is rotated', async () => {
    const other = await collectionWithClient(node);
    const c = await signIn(base, other.token);
    expect((await consoleGet(base, '/console/collections', c.cookies)).status).toBe(200);
    await adminJson(node, 'POST', `/admin/clients/${other.clientId}/token`);
    expect((await consoleGet(base, '/console/collections', c.cookies)).status).toBe(303);
  });

  it('refuses a peer node, as an unknown token, and sends a client no sources page', async () => {
    const peer = await adminJson(node, 'POST', '/admin/clients', { name: 'console-peer', kind: 'peer' });
    const cookies = new Map<string, string>();
    const csrf = csrfOf(await (await consoleGet(base, '/console/signin', cookies)).text());
    const refused = await consolePost(base, '/console/signin', cookies, { _csrf: csrf, token: await legacyPeerToken(node, peer.id) });
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain('That token was not accepted');
    expect(cookies.has('vigil_session')).toBe(false);
    const c = await signIn(base, col.token);
    const sources = await consoleGet(base, '/console/sources', c.cookies);
    expect(sources.status).toBe(403);
    expect(await sources.text()).toContain('admin');
    // The page's name before: a permanent redirect to the new one.
    const peers = await consoleGet(base, '/console/peers', c.cookies);
    expect(peers.status).toBe(301);
    expect(peers.headers.get('location')).toBe('/console/sources');
  });
});

describe('input and output', () => {
  it('shows bad filters, a bad next token and bad ids as 4xx pages', async () => {
    const c = await signIn(base, col.token);
    const list = `/console/collections/default/${col.collectionId}`;
    for (const [query, text] of [
      ['?limit=abc', 'limit: must be a positive integer'],
      ['?added_after=yesterday', 'is not a timestamp'],
      ['?match%5Bspec_version%5D=two', 'must be a version like 2.1'],
      ['?next=garbage', 'next:'],
    ] as const) {
      const res = await consoleGet(base, `${list}${query}`, c.cookies);
      expect(res.status, query).toBe(400);
      expect(await res.text(), query).toContain(text);
    }
    expect((await consoleGet(base, `${list}?match%5Btype%5D=&limit=`, c.cookies)).status).toBe(200);
    expect((await consoleGet(base, '/console/collections/default/not-a-uuid', c.cookies)).status).toBe(404);
    expect((await consoleGet(base, `${list}/objects/nonsense`, c.cookies)).status).toBe(400);
    expect((await consoleGet(base, `/console/status/default/${col.collectionId}`, c.cookies)).status).toBe(404);
  });

  it('shows bad submissions on the form', async () => {
    const c = await signIn(base, col.token);
    const path = `/console/collections/default/${col.collectionId}/submit`;
    const empty = await consolePost(base, path, c.cookies, { _csrf: c.csrf, bundle: '' });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain('choose a file or paste a STIX bundle');
    const broken = await consolePost(base, path, c.cookies, { _csrf: c.csrf, bundle: '{"type": "bundle",' });
    expect(broken.status).toBe(400);
    const text = await broken.text();
    expect(text).toContain('not valid JSON');
    expect(text).toContain('{&quot;type&quot;: &quot;bundle&quot;,</textarea>');
    const list = await consolePost(base, path, c.cookies, { _csrf: c.csrf, bundle: '[1, 2]' });
    expect(list.status).toBe(422);
  });

  it('escapes STIX content on every page', async () => {
    const evil = indicator({ name: '<script>alert("x")</script><img src=x onerror=alert(1)>' });
    await postObjects(node, col.base, [evil], col.token);
    const c = await signIn(base, col.token);
    for (const path of [
      `/console/collections/default/${col.collectionId}`,
      `/console/collections/default/${col.collectionId}/objects/${evil.id}`,
    ]) {
      const text = await (await consoleGet(base, path, c.cookies)).text();
      expect(text, path).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
      expect(text, path).not.toContain('<script>alert');
      expect(text, path).not.toContain('<img src=x');
    }
  });

  it('never shows a GREEN client an AMBER object', async () => {
    const green = await collectionWithClient(node, { can_read: true, can_write: true }, 'default', 'GREEN');
    const amber = indicator({ name: 'amber secret', object_marking_refs: [TLP1.amber] });
    const greenObject = indicator({ name: 'green news', object_marking_refs: [TLP1.green] });
    await postObjects(node, green.base, [amber, greenObject]);
    const c = await signIn(base, green.token);
    const list = await (await consoleGet(base, `/console/collections/default/${green.collectionId}`, c.cookies)).text();
    expect(list).toContain('green news');
    expect(list).not.toContain('amber secret');
    expect(list).not.toContain(amber.id);
    const one = await consoleGet(base, `/console/collections/default/${green.collectionId}/objects/${amber.id}`, c.cookies);
    expect(one.status).toBe(404);
    expect(await one.text()).not.toContain('amber secret');
    const byId = await (
      await consoleGet(base, `/console/collections/default/${green.collectionId}?match%5Bid%5D=${amber.id}`, c.cookies)
    ).text();
    expect(byId).toContain('No objects match');
  });
});

describe('behind https', () => {
  it('marks the cookies Secure and checks Origin against PUBLIC_URL', async () => {
    // The same node's dependencies with a public https URL, through app.request (no second node).
    const app = createApp({ ...node.deps, config: { ...node.deps.config, publicUrl: 'https://cti.example.org' } });
    const form = await app.request('/console/signin');
    const pre = /vigil_presession=([^;]+)/.exec(attrs(form, 'vigil_presession'))![1]!;
    expect(attrs(form, 'vigil_presession')).toMatch(/Secure/);
    const post = (origin: string) =>
      app.request('/console/signin', {
        method: 'POST',
        headers: { origin, cookie: `vigil_presession=${pre}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: pre, token: ADMIN_TOKEN }).toString(),
      });
    expect((await post('http://localhost')).status).toBe(403);
    const res = await post('https://cti.example.org');
    expect(res.status).toBe(303);
    expect(attrs(res, 'vigil_session')).toMatch(/Secure/);
  });
});
