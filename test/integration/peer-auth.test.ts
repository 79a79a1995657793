import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateKeys } from '../../src/federation/keyring.ts';
import type { Keyring } from '../../src/federation/keyring.ts';
import { alertApi } from '../support/alerts.ts';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { legacyPeerToken, peerKeyring, pinnedPeer, proofFor, requestAs } from '../support/peer.ts';
import type { Peer } from '../support/peer.ts';
import { adminJson, collectionWithClient, indicator, postObjects } from '../support/stix.ts';

// A peer node authenticates only by a signed request proof: it is given no token, a token it
// holds from an earlier release (or from its days as a client) is refused like an unknown one,
// and it reads nothing before its node id and keys are pinned. The proof's own checks (URL,
// method, audience, lifetime, replays, unpinned keys) are in signed-pulls.test.ts.

const GREEN = 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da';

let node: TestNode;
let col: Awaited<ReturnType<typeof collectionWithClient>>;
let objects: string;
const read = () => [{ collection_id: col.collectionId, can_read: true, can_write: false }];

beforeAll(async () => {
  node = await startTestNode();
  col = await collectionWithClient(node);
  objects = `${col.base}/objects/`;
  await postObjects(node, col.base, [indicator({ object_marking_refs: [GREEN] })]);
});
afterAll(async () => node?.stop());

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

/** Status, body and challenge of an answer: a refused peer token must read exactly like an unknown token. */
async function refusal(res: Response) {
  return { status: res.status, body: await res.json(), challenge: res.headers.get('www-authenticate') };
}

describe('a peer node has no token', () => {
  it('is created without one, and cannot be given one', async () => {
    const peer = await adminJson(node, 'POST', '/admin/clients', { name: 'node-new', kind: 'peer', grants: read() });
    expect(peer).not.toHaveProperty('token');
    const res = await node.request(`/admin/clients/${peer.id}/token`, { method: 'POST', headers: { accept: 'application/json' } });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { description: string }).description).toMatch(/peer/);
  });

  it('is refused a token it held before, Bearer or Basic, on every API, as an unknown token is', async () => {
    const peer = await pinnedPeer(node, { grants: read() });
    const token = await legacyPeerToken(node, peer.id);
    expect((await requestAs(node, objects, peer)).status).toBe(200);
    const unknown = await refusal(await node.request(objects, { token: 'vgl_not-a-token-of-this-node' }));
    expect(unknown.status).toBe(401);
    expect(await refusal(await node.request(objects, { token }))).toEqual(unknown);
    expect(await refusal(await node.request(objects, { headers: basic(peer.name, token) }))).toEqual(unknown);
    expect(await refusal(await node.request('/taxii2/', { token }))).toEqual(
      await refusal(await node.request('/taxii2/', { token: 'vgl_not-a-token-of-this-node' })),
    );
    expect((await alertApi(node, 'GET', '/subscriptions', token)).status).toBe(401);
    expect((await node.request('/admin/clients', { token, headers: { accept: 'application/json' } })).status).toBe(401);
  });

  it('loses the token of a client made a peer for good', async () => {
    const client = await adminJson(node, 'POST', '/admin/clients', { name: 'becomes-a-peer', grants: read() });
    expect((await node.request(objects, { token: client.token })).status).toBe(200);
    await adminJson(node, 'PATCH', `/admin/clients/${client.id}`, { kind: 'peer' });
    expect((await node.request(objects, { token: client.token })).status).toBe(401);
    expect((await node.request(objects, { headers: basic('becomes-a-peer', client.token) })).status).toBe(401);
    // Made a client again, it has no token until the admin gives it a new one.
    await adminJson(node, 'PATCH', `/admin/clients/${client.id}`, { kind: 'client' });
    expect((await node.request(objects, { token: client.token })).status).toBe(401);
    const rotated = await adminJson(node, 'POST', `/admin/clients/${client.id}/token`);
    expect((await node.request(objects, { token: rotated.token })).status).toBe(200);
  });

  it('reads nothing before its node id and keys are pinned', async () => {
    const peer = await adminJson(node, 'POST', '/admin/clients', { name: 'node-unpinned', kind: 'peer', grants: read() });
    const token = await legacyPeerToken(node, peer.id);
    expect((await node.request(objects, { token })).status).toBe(401);
    const { keyring } = await peerKeyring('node-unpinned');
    const res = await node.request(objects, { headers: { authorization: await proofFor(node, keyring, 'GET', objects) } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { description: string }).description).toMatch(/no peer node 'node-unpinned'/);
  });
});

describe("rotating a peer's keys", () => {
  let peer: Peer;
  /** The keyring as it signed at `at`: before a rotation, its old key. */
  const asOf = (k: Keyring, at: Date): Keyring => ({ ...k, nodeId: k.nodeId, signingKey: () => k.signingKey(at) });
  const status = async (p: Peer) => (await requestAs(node, objects, p)).status;
  const pin = (keys: unknown[]) => adminJson(node, 'PUT', `/admin/clients/${peer.id}/peer`, { node_id: peer.nodeId, keys });

  beforeAll(async () => {
    peer = await pinnedPeer(node, { grants: read() });
  });

  it('verifies with every key pinned: old and new together during the rotation, and a key left out stops at once', async () => {
    const before = new Date();
    const old = { ...peer, keyring: asOf(peer.keyring, before) };
    expect(await status(peer)).toBe(200);
    // The peer rotates: its new key signs at once here (no activation delay), the old one retires in an hour.
    await rotateKeys(peer.dir, { activationDelayMs: 0, retentionMs: 3_600_000 });
    const [oldKey, newKey] = peer.keyring.publicKeys();
    expect((await peer.keyring.signingKey()).kid).toBe(newKey!.kid);
    expect(await status(peer)).toBe(401);
    expect(await status(old)).toBe(200);
    await pin([oldKey, newKey]);
    expect(await status(peer)).toBe(200);
    expect(await status(old)).toBe(200);
    await pin([newKey]);
    expect(await status(peer)).toBe(200);
    expect(await status(old)).toBe(401);
  });
});
