import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureKeyring, loadKeyring } from '../../src/federation/keyring.ts';
import type { Keyring } from '../../src/federation/keyring.ts';
import { createRequestProof, PROOF_SCHEME } from '../../src/federation/request-proof.ts';
import { generateToken, hashToken } from '../../src/services/tokens.ts';
import type { TestNode } from './node.ts';
import { afterAll } from 'vitest';
import { adminJson } from './stix.ts';

/** A peer node registered at a test node: a client of kind peer with this keyring's keys pinned. */
export type Peer = { id: string; name: string; nodeId: string; keyring: Keyring; dir: string };

// A keyring reads its files as it needs them, so its folder goes when the test file is done
// (the TLP property test alone makes hundreds).
const folders: string[] = [];
afterAll(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A keyring of its own for a node that is not running: a peer, as far as the node under test knows. */
export async function peerKeyring(nodeId: string): Promise<{ keyring: Keyring; dir: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-peer-'));
  folders.push(dir);
  await ensureKeyring(dir, nodeId);
  return { keyring: loadKeyring(dir), dir };
}

/** Registers a new peer at `node` (extra client fields in `body`) and pins its node id and keys. */
export async function pinnedPeer(node: TestNode, body: Record<string, unknown> = {}): Promise<Peer> {
  const nodeId = `peer-${randomUUID().slice(0, 12)}`;
  const { keyring, dir } = await peerKeyring(nodeId);
  const c = await adminJson(node, 'POST', '/admin/clients', { name: nodeId, kind: 'peer', ...body });
  await adminJson(node, 'PUT', `/admin/clients/${c.id}/peer`, { node_id: nodeId, keys: keyring.publicKeys() });
  return { id: c.id, name: c.name, nodeId, keyring, dir };
}

/** A token for the peer `clientId`, stored as releases up to 0.1.0 gave peers one: it must buy nothing. */
export async function legacyPeerToken(node: TestNode, clientId: string): Promise<string> {
  const token = generateToken();
  await node.database.db
    .updateTable('clients')
    .set({ token_hash: hashToken(token) })
    .where('id', '=', clientId)
    .where('kind', '=', 'peer')
    .execute();
  return token;
}

/** The Authorization of one signed request to `node`: a fresh proof bound to the method and the URL. */
export async function proofFor(node: TestNode, keyring: Keyring, method: string, pathname: string): Promise<string> {
  const { token } = await createRequestProof(keyring, node.deps.keyring.nodeId, method, new URL(pathname, node.url).href);
  return `${PROOF_SCHEME} ${token}`;
}

/** Who a test request comes from: a client token, the admin (undefined), nobody (null), or a peer that signs it. */
export type Caller = string | null | undefined | Peer;

export async function requestAs(node: TestNode, pathname: string, as: Caller, init: RequestInit = {}): Promise<Response> {
  if (as === null || as === undefined || typeof as === 'string')
    return node.request(pathname, { ...init, ...(as === undefined ? {} : { token: as }) });
  const headers = new Headers(init.headers);
  headers.set('authorization', await proofFor(node, as.keyring, init.method ?? 'GET', pathname));
  return node.request(pathname, { ...init, headers });
}
