import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OriginSignatureError, verifyOrigin } from '../../src/federation/origin-signature.ts';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, collectionWithClient, indicator, postObjects } from '../support/stix.ts';

// A TAXII source whose server is a second Vigil node read as any TAXII client reads it (a client
// token, Basic or Bearer; no signed pull); then a peer pulling from the node that took the objects
// in sees who took them in, from where, under that node's signature, and no AMBER of them.

const GREEN = 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da';
const AMBER = 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82';
const RED = 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed';

let server: TestNode; // node-s: a Vigil node serving plain TAXII, and later a peer of node-a
let a: TestNode; // node-a: takes the server's collection in
let remote: Awaited<ReturnType<typeof collectionWithClient>>;
const green = indicator({ object_marking_refs: [GREEN] });
const amber = indicator({ object_marking_refs: [AMBER] });
const red = indicator({ object_marking_refs: [RED] });
const unmarked = indicator();

beforeAll(async () => {
  server = await startTestNode({ NODE_ID: 'node-s', PULL_TICK_MS: '0' });
  a = await startTestNode({ NODE_ID: 'node-a', PULL_TICK_MS: '0' });
  // An ordinary read client, cleared for AMBER (a RED recipient it is not).
  remote = await collectionWithClient(server, { can_read: true, can_write: true }, 'default', 'AMBER');
  await postObjects(server, remote.base, [green, amber, red, unmarked], remote.token);
});

afterAll(async () => {
  await a?.stop();
  await server?.stop();
});

const into = async (title: string) => (await adminJson(a, 'POST', '/admin/collections', { api_root: 'default', title })).id as string;

const taxiiSource = async (collection: string, auth: Record<string, unknown>) =>
  (
    await adminJson(a, 'POST', '/admin/sources', {
      kind: 'taxii',
      url: `${server.url}/default/`,
      remote_collection_id: remote.collectionId,
      collection_id: collection,
      auth,
      default_tlp: 'GREEN',
    })
  ).id as string;

const ids = async (node: TestNode, collection: string) =>
  (await sql<{ id: string }>`SELECT DISTINCT id FROM objects WHERE collection_id = ${collection}`.execute(node.database.db)).rows
    .map((r) => r.id)
    .sort();

describe('a TAXII source on a second Vigil node, read as a plain client', () => {
  let colA: string;

  it('pulls with HTTP Basic (the client name and its token) what that client may read, and nothing signed by the server', async () => {
    colA = await into('from node-s, Basic');
    const id = await taxiiSource(colA, { kind: 'basic', username: remote.clientName, password: remote.token });
    expect(await a.deps.puller.pullNow(id)).toMatchObject({ ok: true, stored: 3 });
    expect(await ids(a, colA)).toEqual([green.id, amber.id, unmarked.id].sort());
    // Signed by node-a as the node that took it in from node-s, not as originated by node-s.
    const [v] = (await adminJson(a, 'GET', `/admin/collections/${colA}/objects/${green.id}`)).versions;
    expect(v).toMatchObject({
      received_from: `source/${id}`,
      origin_node: 'node-a',
      intake: { kind: 'taxii', url: `${server.url}/default/collections/${remote.collectionId}/` },
    });
    // The unmarked one at the source's default level, GREEN.
    expect((await adminJson(a, 'GET', `/admin/collections/${colA}/objects/${unmarked.id}`)).versions[0].tlp_level).toBe('GREEN');
  });

  it('pulls with a Bearer token the same, and a second pull brings nothing twice', async () => {
    const col = await into('from node-s, Bearer');
    const id = await taxiiSource(col, { kind: 'bearer', token: remote.token });
    expect(await a.deps.puller.pullNow(id)).toMatchObject({ ok: true, stored: 3 });
    expect(await a.deps.puller.pullNow(id)).toMatchObject({ ok: true, stored: 0 });
    const more = indicator({ object_marking_refs: [GREEN] });
    await postObjects(server, remote.base, [more], remote.token);
    expect(await a.deps.puller.pullNow(id)).toMatchObject({ ok: true, stored: 1 });
  });

  it('records "authentication refused" for a token the server does not know', async () => {
    const col = await into('from node-s, wrong token');
    const id = await taxiiSource(col, { kind: 'bearer', token: 'not-a-token-of-node-s' });
    expect(await a.deps.puller.pullNow(id)).toMatchObject({ ok: false, error: { code: 'auth-refused' } });
  });

  it('lets a peer pulling from node-a verify the intake claim, and relays no AMBER it took in', async () => {
    // node-s pulls node-a's collection over signed pulls, as a peer with the AMBER agreement.
    const peerAtA = await adminJson(a, 'POST', '/admin/clients', {
      name: 'node-s',
      kind: 'peer',
      peer_amber: true,
      grants: [{ collection_id: colA, can_read: true, can_write: false }],
    });
    await adminJson(a, 'PUT', `/admin/clients/${peerAtA.id}/peer`, { node_id: 'node-s', keys: server.deps.keyring.publicKeys() });
    const peerAtS = await adminJson(server, 'POST', '/admin/clients', { name: 'node-a', kind: 'peer' });
    await adminJson(server, 'PUT', `/admin/clients/${peerAtS.id}/peer`, {
      node_id: 'node-a',
      base_url: a.url,
      keys: a.deps.keyring.publicKeys(),
    });
    const back = (await adminJson(server, 'POST', '/admin/collections', { api_root: 'default', title: 'from node-a' })).id as string;
    const src = await adminJson(server, 'POST', '/admin/sources', {
      peer_id: peerAtS.id,
      remote_api_root: 'default',
      remote_collection_id: colA,
      collection_id: back,
    });
    expect(await server.deps.puller.pullNow(src.id)).toMatchObject({ ok: true });
    // GREEN and the unmarked one (GREEN by the source's default) travel; AMBER taken in from a feed does not, whatever the agreement.
    expect(await ids(server, back)).toEqual([green.id, unmarked.id].sort());
    const [v] = (await adminJson(server, 'GET', `/admin/collections/${back}/objects/${green.id}`)).versions;
    expect(v).toMatchObject({
      received_from: 'node-a',
      origin_node: 'node-a',
      origin_verified: true,
      intake: { kind: 'taxii', url: `${server.url}/default/collections/${remote.collectionId}/` },
    });
    // The claim is signed: verifying the signature yields it, and it does not verify as node-s's.
    const row = await sql<{ origin_signature: string; json: string }>`
      SELECT origin_signature, object::text AS json FROM objects WHERE collection_id = ${back} AND id = ${green.id}`.execute(
      server.database.db,
    );
    const { origin_signature, json } = row.rows[0]!;
    await expect(verifyOrigin(origin_signature, JSON.parse(json), 'node-a', a.deps.keyring.publicKeys())).resolves.toMatchObject({
      kind: 'taxii',
      url: `${server.url}/default/collections/${remote.collectionId}/`,
    });
    await expect(verifyOrigin(origin_signature, JSON.parse(json), 'node-s', server.deps.keyring.publicKeys())).rejects.toThrow(
      OriginSignatureError,
    );
  });
});
