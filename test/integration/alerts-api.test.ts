import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertApi, subscribe } from '../support/alerts.ts';
import { startTestNode } from '../support/node.ts';
import { legacyPeerToken } from '../support/peer.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, collectionWithClient } from '../support/stix.ts';

// The alert API under the default outbound policy (https to public addresses only): who may do
// what, and every bad input a 400 that names its field.

let node: TestNode;
let a: Awaited<ReturnType<typeof collectionWithClient>>;
let b: Awaited<ReturnType<typeof collectionWithClient>>;
const HOOK = 'https://hooks.hospital.example/vigil';

beforeAll(async () => {
  node = await startTestNode({ ALERT_TICK_MS: '0' });
  a = await collectionWithClient(node);
  b = await collectionWithClient(node);
});
afterAll(async () => {
  await node?.stop();
});

async function expectError(res: Response, status: number, pattern: RegExp) {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(text).toMatch(pattern);
}

describe('creating a subscription: bad input is a 400 naming the field', () => {
  const base = () => ({ name: 'x', collections: [a.collectionId] });
  it.each([
    [{ filter: { unknown_key: 1 } }, /filter/],
    [{ filter: { cpe_prefixes: ['acme:pacs'] } }, /filter\.cpe_prefixes\.0/],
    [{ filter: { min_confidence: 101 } }, /filter\.min_confidence/],
    [{ filter: { pap: 'red' } }, /filter\.pap/],
    [{ filter: { types: [] } }, /filter\.types/],
    [{ payload: 'full' }, /payload/],
    [{ collections: [] }, /collections/],
    [{ collections: ['not-a-uuid'] }, /collections\.0/],
    [{ name: '' }, /name/],
    [{ extra: true }, /extra|Unrecognized/],
  ])('%j', async (over, field) => {
    await expectError(await alertApi(node, 'POST', '/subscriptions', a.token, { ...base(), ...over }), 400, field);
  });

  it.each([
    ['http://hooks.hospital.example/vigil', /webhook_url: must be an https:\/\/ URL/],
    ['https://127.0.0.1/hook', /webhook_url: 127\.0\.0\.1 is not a public unicast address \(loopback\)/],
    ['https://localhost/hook', /webhook_url: localhost is a loopback name/],
    ['https://localhost./hook', /webhook_url: localhost is a loopback name/],
    [
      'https://[::ffff:169.254.169.254]/latest',
      /webhook_url: ::ffff:a9fe:a9fe is not a public unicast address \(ipv4Mapped \(embeds 169\.254\.169\.254, linkLocal\)\)/,
    ],
    ['https://10.0.0.8/hook', /webhook_url: 10\.0\.0\.8 is not a public unicast address \(private\)/],
    ['https://[2002:7f00:1::]/hook', /webhook_url: 2002:7f00:1:: is not a public unicast address \(6to4\)/],
    [
      'https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook',
      /webhook_url: 2001:0:4136:e378:8000:63bf:3fff:fdd2 is not a public unicast address \(teredo\)/,
    ],
    [
      'https://[64:ff9b::7f00:1]/hook',
      /webhook_url: 64:ff9b::7f00:1 is not a public unicast address \(rfc6052 \(embeds 127\.0\.0\.1, loopback\)\)/,
    ],
    ['https://198.18.0.1/hook', /webhook_url: 198\.18\.0\.1 is not a public unicast address \(reserved\)/],
    ['https://100.64.0.1/hook', /webhook_url: 100\.64\.0\.1 is not a public unicast address \(carrierGradeNat\)/],
    ['https://user:pw@hooks.hospital.example/x', /webhook_url: must not carry credentials/],
    ['nonsense', /webhook_url: is not a URL/],
  ])('refuses the webhook %s under the default policy', async (url, why) => {
    await expectError(await alertApi(node, 'POST', '/subscriptions', a.token, { ...base(), webhook_url: url }), 400, why);
    const ok = await subscribe(node, a.token, { name: 'to patch', collections: [a.collectionId] });
    await expectError(await alertApi(node, 'PATCH', `/subscriptions/${ok.id}`, a.token, { webhook_url: url }), 400, why);
  });

  it('takes a good one and answers with the resource', async () => {
    const s = await subscribe(node, a.token, {
      name: 'ok',
      collections: [a.collectionId],
      filter: { types: ['indicator'] },
      webhook_url: HOOK,
      payload: 'ids',
    });
    expect(s).toMatchObject({
      name: 'ok',
      client_id: a.clientId,
      collections: [a.collectionId],
      filter: { types: ['indicator'] },
      webhook_url: HOOK,
      payload: 'ids',
      active: true,
    });
    const got = await alertApi(node, 'GET', `/subscriptions/${s.id}`, a.token);
    expect(await got.json()).toEqual(s);
  });
});

describe('who may do what', () => {
  it('401 without a token or with a wrong one', async () => {
    for (const token of [null, 'not-a-token-at-all-0123456789']) {
      expect((await alertApi(node, 'GET', '/subscriptions', token)).status).toBe(401);
      expect((await alertApi(node, 'POST', '/subscriptions', token, { name: 'x', collections: [a.collectionId] })).status).toBe(401);
    }
  });

  it('401 for a peer node: it has no token, and one it held before is refused', async () => {
    const peer = await adminJson(node, 'POST', '/admin/clients', {
      name: `peer-${Date.now()}`,
      kind: 'peer',
      grants: [{ collection_id: a.collectionId, can_read: true, can_write: false }],
    });
    expect(peer).not.toHaveProperty('token');
    const token = await legacyPeerToken(node, peer.id);
    expect((await alertApi(node, 'GET', '/subscriptions', token)).status).toBe(401);
    expect((await alertApi(node, 'POST', '/subscriptions', token, { name: 'x', collections: [a.collectionId] })).status).toBe(401);
  });

  it("a client never sees nor changes another client's subscription: 404", async () => {
    const mine = await subscribe(node, a.token, { name: 'mine', collections: [a.collectionId] });
    const listed: any = await (await alertApi(node, 'GET', '/subscriptions', b.token)).json();
    expect(listed.subscriptions.map((s: { id: string }) => s.id)).not.toContain(mine.id);
    expect((await alertApi(node, 'GET', `/subscriptions/${mine.id}`, b.token)).status).toBe(404);
    expect((await alertApi(node, 'PATCH', `/subscriptions/${mine.id}`, b.token, { active: false })).status).toBe(404);
    expect((await alertApi(node, 'DELETE', `/subscriptions/${mine.id}`, b.token)).status).toBe(404);
    expect((await alertApi(node, 'GET', `/subscriptions/${mine.id}/deliveries`, b.token)).status).toBe(404);
    expect((await alertApi(node, 'GET', `/subscriptions/not-a-uuid`, b.token)).status).toBe(404);
    // Unchanged, and still its owner's.
    expect(await (await alertApi(node, 'GET', `/subscriptions/${mine.id}`, a.token)).json()).toEqual(mine);
    expect((await alertApi(node, 'DELETE', `/subscriptions/${mine.id}`, a.token)).status).toBe(204);
    expect((await alertApi(node, 'GET', `/subscriptions/${mine.id}`, a.token)).status).toBe(404);
  });

  it('a collection the client may not read: 404 without a grant, 403 with a write-only grant', async () => {
    await expectError(
      await alertApi(node, 'POST', '/subscriptions', a.token, { name: 'x', collections: [b.collectionId] }),
      404,
      /collections/,
    );
    const writer = await collectionWithClient(node, { can_read: false, can_write: true });
    await expectError(
      await alertApi(node, 'POST', '/subscriptions', writer.token, { name: 'x', collections: [writer.collectionId] }),
      403,
      /collections/,
    );
    const mine = await subscribe(node, a.token, { name: 'mine', collections: [a.collectionId] });
    await expectError(
      await alertApi(node, 'PATCH', `/subscriptions/${mine.id}`, a.token, { collections: [b.collectionId] }),
      404,
      /collections/,
    );
    await expectError(
      await alertApi(node, 'POST', '/subscriptions', a.token, { name: 'x', collections: ['00000000-0000-4000-8000-000000000000'] }),
      404,
      /collections/,
    );
  });

  it('a client cannot subscribe for another client', async () => {
    await expectError(
      await alertApi(node, 'POST', '/subscriptions', a.token, { name: 'x', collections: [a.collectionId], client_id: b.clientId }),
      403,
      /client_id/,
    );
  });

  it('the admin must name the client, sees everyone, and is held to that client’s grants', async () => {
    await expectError(
      await alertApi(node, 'POST', '/subscriptions', undefined, { name: 'x', collections: [a.collectionId] }),
      400,
      /client_id/,
    );
    await expectError(
      await alertApi(node, 'POST', '/subscriptions', undefined, {
        name: 'x',
        collections: [a.collectionId],
        client_id: '00000000-0000-4000-8000-000000000000',
      }),
      404,
      /client_id/,
    );
    await expectError(
      await alertApi(node, 'POST', '/subscriptions', undefined, { name: 'x', collections: [b.collectionId], client_id: a.clientId }),
      404,
      /collections/,
    );
    const s = await subscribe(node, undefined, {
      name: 'by admin',
      collections: [a.collectionId],
      client_id: a.clientId,
      webhook_url: HOOK,
    });
    expect(s.client_id).toBe(a.clientId);
    const bs = await subscribe(node, b.token, { name: 'b', collections: [b.collectionId] });
    const all = ((await (await alertApi(node, 'GET', '/subscriptions', undefined)).json()) as any).subscriptions.map(
      (x: { id: string }) => x.id,
    );
    expect(all).toEqual(expect.arrayContaining([s.id, bs.id]));
    // The client sees the one made for it.
    const own = ((await (await alertApi(node, 'GET', '/subscriptions', a.token)).json()) as any).subscriptions.map(
      (x: { id: string }) => x.id,
    );
    expect(own).toContain(s.id);
    expect(own).not.toContain(bs.id);
  });

  it('deliveries: the query is checked', async () => {
    const s = await subscribe(node, a.token, { name: 'q', collections: [a.collectionId] });
    expect((await alertApi(node, 'GET', `/subscriptions/${s.id}/deliveries?state=dead&limit=5`, a.token)).status).toBe(200);
    await expectError(await alertApi(node, 'GET', `/subscriptions/${s.id}/deliveries?state=lost`, a.token), 400, /state/);
    await expectError(await alertApi(node, 'GET', `/subscriptions/${s.id}/deliveries?limit=0`, a.token), 400, /limit/);
    expect(
      (await alertApi(node, 'POST', `/subscriptions/${s.id}/deliveries/00000000-0000-4000-8000-000000000000/retry`, a.token)).status,
    ).toBe(404);
  });
});
