import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, TAXII } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { pinnedPeer, requestAs } from '../support/peer.ts';
import { consoleGet, signIn } from '../browser/console-http.ts';
import { collectionWithClient, indicator, postObjects } from '../support/stix.ts';

// Tiny limits: a client or peer may send 2 requests at once and 1 a second; an address 6 a
// minute without valid credentials. The test's connections come from 127.0.0.1, made a trusted
// proxy, so X-Forwarded-For gives each test an address of its own.

let node: TestNode;
let a: Awaited<ReturnType<typeof collectionWithClient>>;
let b: Awaited<ReturnType<typeof collectionWithClient>>;

beforeAll(async () => {
  node = await startTestNode({
    RATE_LIMIT_PER_MINUTE: '60',
    RATE_LIMIT_BURST: '2',
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: '6',
    TRUSTED_PROXIES: '127.0.0.1',
  });
  a = await collectionWithClient(node);
  b = await collectionWithClient(node);
});
afterAll(async () => node?.stop());

const from = (address: string) => ({ 'x-forwarded-for': address });

/** The 429 as TAXII 2.1 §3.6.1 has every error: an error resource, and Retry-After in whole seconds. */
async function expectTooMany(res: Response): Promise<number> {
  expect(res.status).toBe(429);
  expect(res.headers.get('content-type')).toBe(TAXII);
  const retryAfter = res.headers.get('retry-after');
  expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ title: 'Too many requests', error_code: 'too-many-requests', http_status: '429' });
  return Number(retryAfter);
}

describe('per-client rate limits', () => {
  it('answers a client past its burst 429 with Retry-After, leaves another client alone, and serves it again after the wait', async () => {
    const send = () => node.request(`${a.base}/objects/`, { token: a.token, headers: from('198.51.100.1') });
    const answers = await Promise.all(Array.from({ length: 8 }, send));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
    expect(statuses).toContain(429);
    let wait = 0;
    for (const res of answers) {
      if (res.status === 429) wait = Math.max(wait, await expectTooMany(res));
      else await res.body?.cancel();
    }

    // Another client, from the same address: its own budget.
    expect((await node.request(`${b.base}/objects/`, { token: b.token, headers: from('198.51.100.1') })).status).toBe(200);

    await sleep(wait * 1000 + 100);
    expect((await send()).status).toBe(200);
  });

  it('limits a peer node by its own budget', async () => {
    const peer = await pinnedPeer(node, { grants: [{ collection_id: a.collectionId, can_read: true, can_write: false }] });
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => requestAs(node, `${a.base}/objects/`, peer, { headers: from('198.51.100.2') })),
    );
    expect(answers.map((r) => r.status)).toContain(429);
    await expectTooMany(answers.find((r) => r.status === 429)!);
  });

  it('counts a console session as its client, and answers the console page 429 with Retry-After', async () => {
    const c = await collectionWithClient(node);
    const session = await signIn(node.url, c.token);
    const answers = await Promise.all(Array.from({ length: 6 }, () => consoleGet(node.url, '/console/collections', session.cookies)));
    const refused = answers.find((r) => r.status === 429);
    expect(refused).toBeDefined();
    expect(refused!.headers.get('content-type')).toMatch(/^text\/html/);
    expect(refused!.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
  });

  it('never limits the admin', async () => {
    const c = await collectionWithClient(node);
    const twenty = (token: string | undefined) =>
      Promise.all(Array.from({ length: 20 }, () => node.request('/taxii2/', { token, headers: from('198.51.100.3') })));
    expect((await twenty(c.token)).map((r) => r.status)).toContain(429);
    expect((await twenty(undefined)).map((r) => r.status)).toEqual(Array(20).fill(200));
  });
});

describe('per-address rate limits', () => {
  it('limits failed authentications from one address, then refuses even good credentials from it, but not from another', async () => {
    const guesser = from('203.0.113.7');
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await node.request('/taxii2/', { token: `vgl_guess-${i}`, headers: guesser })).status);
    expect(statuses.slice(0, 6)).toEqual(Array(6).fill(401));
    expect(statuses.at(-1)).toBe(429);

    // Checked before the credentials: a right guess would read the same.
    await expectTooMany(await node.request(`${b.base}/objects/`, { token: b.token, headers: guesser }));
    await expectTooMany(await node.request('/taxii2/', { token: null, headers: guesser }));
    // The probes are never limited: a 429 would take a healthy replica out of rotation.
    expect((await node.request('/healthz', { token: null, headers: guesser })).status).toBe(200);

    const other = from('203.0.113.8');
    expect((await node.request(`${b.base}/objects/`, { token: b.token, headers: other })).status).toBe(200);
    expect((await node.request('/taxii2/', { token: 'vgl_guess-x', headers: other })).status).toBe(401);
  });

  it('limits requests without credentials by address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await node.request('/openapi.json', { token: null, headers: from('203.0.113.9') })).status);
    expect(statuses.slice(0, 6)).toEqual(Array(6).fill(200));
    expect(statuses.at(-1)).toBe(429);
    expect((await node.request('/openapi.json', { token: null, headers: from('203.0.113.10') })).status).toBe(200);
  });
});

describe('sighting reports', () => {
  // A rate of their own, beside the requests': 2 reports a minute per client here.
  let reporting: TestNode;
  afterAll(async () => reporting?.stop());

  it('answers a client past SIGHTINGS_PER_MINUTE 429 with Retry-After, and leaves another client alone', async () => {
    reporting = await startTestNode({ SIGHTINGS_PER_MINUTE: '2', NODE_COUNTRY: 'fr', SIGHTINGS_TICK_MS: '0' });
    const first = await collectionWithClient(reporting);
    const other = await collectionWithClient(reporting);
    const seen = indicator({ pattern: "[ipv4-addr:value = '198.51.100.23']" });
    for (const c of [first, other]) expect((await postObjects(reporting, c.base, [seen])).success_count).toBe(1);
    const report = (token: string, collection: string) =>
      reporting.request('/sightings', {
        method: 'POST',
        token,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ indicator: seen.id, collection }),
      });
    for (let i = 0; i < 2; i++) expect((await report(first.token, first.collectionId)).status).toBe(201);
    await expectTooMany(await report(first.token, first.collectionId));
    expect((await report(other.token, other.collectionId)).status).toBe(201);
    // A batch takes a token a report: the one left is not enough for two, and more than the
    // burst at once can never be taken (a 413 that says so, not a 429 to retry for ever).
    const batch = (n: number) =>
      reporting.request('/sightings', {
        method: 'POST',
        token: other.token,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(Array.from({ length: n }, () => ({ indicator: seen.id, collection: other.collectionId }))),
      });
    await expectTooMany(await batch(2));
    const tooBig = await batch(3);
    expect(tooBig.status).toBe(413);
    expect(((await tooBig.json()) as any).description).toMatch(/SIGHTINGS_PER_MINUTE .* at most 2 at once/);
    expect((await batch(1)).status).toBe(200);
  });
});
