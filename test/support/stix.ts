import { randomUUID } from 'node:crypto';
import type { NewObject } from '../../src/store/objects.ts';
import type { TestNode } from './node.ts';
import { STIX, TAXII } from './node.ts';

export type StixObject = Record<string, unknown> & { id: string; type: string };

export function indicator(over: Partial<StixObject> = {}): StixObject {
  const created = (over.created as string | undefined) ?? '2024-01-01T00:00:00.000Z';
  return {
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${randomUUID()}`,
    created,
    modified: created,
    name: 'Known C2 address',
    pattern: "[ipv4-addr:value = '198.51.100.7']",
    pattern_type: 'stix',
    valid_from: created,
    ...over,
  };
}

export function ipv4(value: string): StixObject {
  return { type: 'ipv4-addr', spec_version: '2.1', id: `ipv4-addr--${randomUUID()}`, value };
}

/** A collection in the default API root, and a client with the given rights on it. */
/**
 * A collection in the default API root, and a client with the given rights on it. The client
 * has AMBER clearance, so it sees unmarked objects (AMBER by default) as the TAXII tests expect.
 */
export async function collectionWithClient(
  node: TestNode,
  rights: { can_read: boolean; can_write: boolean } = { can_read: true, can_write: true },
  root = 'default',
  clearance = 'AMBER',
): Promise<{ collectionId: string; clientId: string; clientName: string; token: string; base: string }> {
  const col = await adminJson(node, 'POST', '/admin/collections', { api_root: root, title: `test ${randomUUID()}` });
  const clientName = `client-${randomUUID().slice(0, 8)}`;
  const client = await adminJson(node, 'POST', '/admin/clients', {
    name: clientName,
    clearance,
    grants: [{ collection_id: col.id, ...rights }],
  });
  return { collectionId: col.id, clientId: client.id, clientName, token: client.token, base: `/${root}/collections/${col.id}` };
}

export async function adminJson(node: TestNode, method: string, pathname: string, body?: unknown): Promise<any> {
  const res = await node.request(pathname, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status >= 300) throw new Error(`${method} ${pathname}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? undefined : res.json();
}

/** POSTs an envelope and waits for its status to be complete; returns the final status. */
export async function postObjects(node: TestNode, base: string, objects: unknown[], token?: string): Promise<any> {
  const res = await node.request(`${base}/objects/`, {
    method: 'POST',
    headers: { 'content-type': TAXII },
    body: JSON.stringify({ objects }),
    ...(token ? { token } : {}),
  });
  if (res.status !== 202) throw new Error(`POST objects: ${res.status} ${await res.text()}`);
  let status: any = await res.json();
  const root = base.split('/')[1];
  for (let i = 0; status.status !== 'complete' && i < 600; i++) {
    await new Promise((r) => setTimeout(r, 50));
    status = await (await node.request(`/${root}/status/${status.id}/`, token ? { token } : {})).json();
  }
  return status;
}

export { STIX, TAXII };

/**
 * A STIX object as the store takes it, CLEAR and submitted here, for tests that write through
 * the store directly (another writer holding the collection's lock).
 */
export function storable(o: StixObject): NewObject {
  return {
    id: o.id,
    type: o.type,
    specVersion: '2.1',
    version: (o.modified ?? o.created) as string,
    markingRefs: [],
    json: JSON.stringify(o),
    level: 0,
    pap: null,
    denyReason: null,
    unresolvedRefs: [],
    refKind: null,
    refIds: [],
    origin: null,
    originNode: null,
    originSignature: null,
    originVerified: true,
  };
}
