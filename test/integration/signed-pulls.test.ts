import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureKeyring, loadKeyring } from '../../src/federation/keyring.ts';
import type { Keyring } from '../../src/federation/keyring.ts';
import { createRequestProof, PROOF_SCHEME } from '../../src/federation/request-proof.ts';
import { RESPONSE_SIGNATURE_HEADER, verifyResponse, ResponseSignatureError } from '../../src/federation/response-signature.ts';
import { verifyOrigin } from '../../src/federation/origin-signature.ts';
import { TAXII, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, collectionWithClient, indicator, postObjects } from '../support/stix.ts';

const GREEN = 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da';
const AMBER = 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82';

async function keyringIn(nodeId: string): Promise<Keyring> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-peer-'));
  await ensureKeyring(dir, nodeId);
  return loadKeyring(dir);
}

let served: TestNode;
let puller: Keyring;
let stranger: Keyring;
let base: string;
let green: ReturnType<typeof indicator>;
let amber: ReturnType<typeof indicator>;

beforeAll(async () => {
  served = await startTestNode({ NODE_ID: 'node-a' });
  puller = await keyringIn('node-b');
  stranger = await keyringIn('node-b'); // claims to be node-b, with a key nobody pinned
  ({ base } = await collectionWithClient(served));
  const collectionId = base.split('/').pop()!;
  green = indicator({ object_marking_refs: [GREEN] });
  amber = indicator({ object_marking_refs: [AMBER] });
  await postObjects(served, base, [green, amber]);
  const peer = await adminJson(served, 'POST', '/admin/clients', {
    name: 'node-b',
    kind: 'peer',
    grants: [{ collection_id: collectionId, can_read: true, can_write: false }],
  });
  await adminJson(served, 'PUT', `/admin/clients/${peer.id}/peer`, { node_id: 'node-b', keys: puller.publicKeys() });
});
afterAll(async () => served?.stop());

const url = () => `${served.url}${base}/objects/`;

async function pull(token: string, target = url()) {
  const res = await fetch(target, { headers: { accept: TAXII, authorization: `${PROOF_SCHEME} ${token}` } });
  return { res, body: await res.text() };
}

describe('signed pulls between nodes', () => {
  it('serves a peer that proves who it is, under its agreement, and signs the exact body', async () => {
    const { token, jti } = await createRequestProof(puller, 'node-a', 'GET', url());
    const { res, body } = await pull(token);
    expect(res.status).toBe(200);
    expect(JSON.parse(body).objects.map((o: any) => o.id)).toEqual([green.id]);
    const claims = await verifyResponse(res.headers.get(RESPONSE_SIGNATURE_HEADER), body, {
      issuer: 'node-a',
      audience: 'node-b',
      jti,
      keys: served.deps.keyring.publicKeys(),
    });
    expect(claims.jti).toBe(jti);
  });

  it("passes each version's origin signature to the peer, verifiable with the origin node's keys", async () => {
    const { token } = await createRequestProof(puller, 'node-a', 'GET', url());
    const { body } = await pull(token);
    const envelope = JSON.parse(body);
    expect(envelope.x_vigil_origins).toHaveLength(envelope.objects.length);
    for (const [i, o] of envelope.objects.entries()) {
      const origin = envelope.x_vigil_origins[i];
      expect(origin).toMatchObject({ id: o.id, version: o.modified, node: 'node-a' });
      await verifyOrigin(origin.signature, o, 'node-a', served.deps.keyring.publicKeys());
      await expect(
        verifyOrigin(origin.signature, { ...o, name: 'altered by a relay' }, 'node-a', served.deps.keyring.publicKeys()),
      ).rejects.toThrow();
    }
    // a node's own clients get the plain TAXII envelope
    const plain: any = await (await served.request(`${base}/objects/`)).json();
    expect(plain).not.toHaveProperty('x_vigil_origins');
  });

  it('lets the puller detect a tampered body, a missing signature and another request', async () => {
    const { token, jti } = await createRequestProof(puller, 'node-a', 'GET', url());
    const { res, body } = await pull(token);
    const signature = res.headers.get(RESPONSE_SIGNATURE_HEADER);
    const expected = { issuer: 'node-a', audience: 'node-b', jti, keys: served.deps.keyring.publicKeys() };
    await expect(verifyResponse(signature, body.replace(green.id, amber.id), expected)).rejects.toThrow(/does not match/);
    await expect(verifyResponse(null, body, expected)).rejects.toThrow(ResponseSignatureError);
    await expect(verifyResponse(signature, body, { ...expected, jti: 'other' })).rejects.toThrow(/another request/);
    await expect(verifyResponse(signature, body, { ...expected, keys: puller.publicKeys() })).rejects.toThrow(/not pinned/);
  });

  it('refuses a replayed proof', async () => {
    const { token } = await createRequestProof(puller, 'node-a', 'GET', url());
    expect((await pull(token)).res.status).toBe(200);
    const again = await pull(token);
    expect(again.res.status).toBe(401);
    expect(JSON.parse(again.body).description).toMatch(/used already/);
  });

  it('refuses proofs for another audience, method or URL, from an unpinned key, expired, or too long-lived', async () => {
    const cases: [string, Promise<{ token: string }>][] = [
      ['wrong audience', createRequestProof(puller, 'node-z', 'GET', url())],
      ['wrong method', createRequestProof(puller, 'node-a', 'POST', url())],
      ['wrong URL', createRequestProof(puller, 'node-a', 'GET', `${served.url}${base}/manifest/`)],
      ['unpinned key', createRequestProof(stranger, 'node-a', 'GET', url())],
    ];
    const { kid, key } = await puller.signingKey();
    const now = Math.floor(Date.now() / 1000);
    const crafted = (iat: number, exp: number) =>
      new SignJWT({ htm: 'GET', htu: url() })
        .setProtectedHeader({ alg: 'EdDSA', kid })
        .setIssuer('node-b')
        .setAudience('node-a')
        .setJti(crypto.randomUUID())
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(key);
    cases.push(['expired', crafted(now - 120, now - 60).then((token) => ({ token }))]);
    cases.push(['lives 10 minutes', crafted(now, now + 600).then((token) => ({ token }))]);
    for (const [what, proof] of cases) {
      const { res } = await pull((await proof).token);
      expect(res.status, what).toBe(401);
      expect(res.headers.get('www-authenticate'), what).toBeTruthy();
    }
    expect((await pull('not-a-jwt')).res.status).toBe(401);
  });

  it('refuses an unsigned pull', async () => {
    const res = await fetch(url(), { headers: { accept: TAXII } });
    expect(res.status).toBe(401);
  });

  it('serves AMBER this node originated only where the agreement allows it', async () => {
    const peers = await adminJson(served, 'GET', '/admin/clients');
    const peer = peers.clients.find((c: any) => c.name === 'node-b');
    await adminJson(served, 'PATCH', `/admin/clients/${peer.id}`, { peer_amber: true });
    const { token } = await createRequestProof(puller, 'node-a', 'GET', url());
    const { body } = await pull(token);
    expect(JSON.parse(body).objects.map((o: any) => o.id)).toEqual([green.id, amber.id]);
  });
});
