import { randomUUID } from 'node:crypto';
import { json } from '../load.ts';
import type { Client } from '../load.ts';

export async function createCollection(c: Client, title: string): Promise<string> {
  const col = await json<{ id: string }>(c, '/admin/collections', {
    method: 'POST',
    contentType: 'application/json',
    body: JSON.stringify({ api_root: 'default', title }),
  });
  return col.id;
}

/** A client with `clearance`, reading (and writing) one collection; answers its token. */
export async function createClient(c: Client, collectionId: string, clearance: string): Promise<string> {
  const created = await json<{ token: string }>(c, '/admin/clients', {
    method: 'POST',
    contentType: 'application/json',
    body: JSON.stringify({
      name: `bench-${randomUUID().slice(0, 8)}`,
      clearance,
      grants: [{ collection_id: collectionId, can_read: true, can_write: true }],
    }),
  });
  return created.token;
}

export const objectsPath = (collectionId: string) => `/default/collections/${collectionId}/objects/`;
