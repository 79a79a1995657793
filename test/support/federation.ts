import { expect } from 'vitest';
import type { TestNode } from './node.ts';
import { adminJson } from './stix.ts';

// Federated test nodes on loopback: each a peer client of the other with its node id, keys and URL
// pinned, pulling each other's collections over real signed requests.

/** A running test node and its node id (NODE_ID). */
export type FederatedNode = { node: TestNode; name: string };

/** Per host node: the peer client made for each guest node id. */
const peerClients = new WeakMap<TestNode, Map<string, string>>();

/** `guest` as a peer client of `host`: made once, its node id, keys and URL pinned. */
export async function peerAt(host: FederatedNode, guest: FederatedNode, amber: boolean): Promise<string> {
  const made = peerClients.get(host.node) ?? new Map<string, string>();
  peerClients.set(host.node, made);
  if (!made.has(guest.name)) {
    const client = await adminJson(host.node, 'POST', '/admin/clients', { name: guest.name, kind: 'peer', peer_amber: amber });
    await adminJson(host.node, 'PUT', `/admin/clients/${client.id}/peer`, {
      node_id: guest.name,
      keys: guest.node.deps.keyring.publicKeys(),
      base_url: guest.node.url,
    });
    made.set(guest.name, client.id);
  }
  return made.get(guest.name)!;
}

/** `to` pulls `from`'s collection into its own, as a peer of it (AMBER that `from` originated, where `amber`); the source's id. */
export async function federate(to: FederatedNode, from: FederatedNode, remote: string, into: string, amber = false): Promise<string> {
  const guest = await peerAt(from, to, amber);
  await adminJson(from.node, 'PUT', `/admin/clients/${guest}/grants/${remote}`, { can_read: true, can_write: false });
  const source = await adminJson(to.node, 'POST', '/admin/sources', {
    peer_id: await peerAt(to, from, false),
    remote_api_root: 'default',
    remote_collection_id: remote,
    collection_id: into,
    interval_seconds: 3600,
  });
  return source.id;
}

/** Runs one pull of the source now, and expects it to succeed. */
export async function pull(n: FederatedNode, source: string): Promise<void> {
  expect(await n.node.deps.puller.pullNow(source), `${n.name} pulls ${source}`).toMatchObject({ ok: true });
}
