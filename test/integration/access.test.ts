import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, STIX, TAXII, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, collectionWithClient, indicator, postObjects } from '../support/stix.ts';
import { basic, endpointFixture, endpointVariants, expectTaxiiError, sendTo } from '../support/endpoints.ts';

// TAXII 2.1 §1.6.9 and the project's rules: who may read, write, delete, and see what.

let node: TestNode;
let collectionId: string;
let base: string;
let objectId: string;
type Client = { id: string; name: string; token: string };
let rw: Client, ro: Client, wo: Client, stranger: Client;

async function client(grants: { collection_id: string; can_read: boolean; can_write: boolean }[]): Promise<Client> {
  const name = `client-${randomUUID().slice(0, 8)}`;
  const c = await adminJson(node, 'POST', '/admin/clients', { name, grants, clearance: 'AMBER' });
  return { id: c.id, name, token: c.token };
}

const as = (who: Client | string, pathname: string, init: RequestInit = {}) =>
  node.request(pathname, { ...init, token: typeof who === 'string' ? who : who.token });

const post = (who: Client, objects: unknown[] = [indicator()]) =>
  as(who, `${base}/objects/`, { method: 'POST', headers: { 'content-type': TAXII }, body: JSON.stringify({ objects }) });

async function expectError(res: Response, status: number): Promise<any> {
  return expectTaxiiError({ status: res.status, headers: res.headers, text: await res.text() }, status);
}

/** GET paths that need the right to read. */
const readPaths = () => [`${base}/objects/`, `${base}/manifest/`, `${base}/objects/${objectId}/`, `${base}/objects/${objectId}/versions/`];

beforeAll(async () => {
  node = await startTestNode();
  ({ collectionId, base } = await collectionWithClient(node));
  const obj = indicator();
  objectId = obj.id;
  await postObjects(node, base, [obj]);
  const elsewhere = await collectionWithClient(node);
  rw = await client([{ collection_id: collectionId, can_read: true, can_write: true }]);
  ro = await client([{ collection_id: collectionId, can_read: true, can_write: false }]);
  wo = await client([{ collection_id: collectionId, can_read: false, can_write: true }]);
  stranger = await client([{ collection_id: elsewhere.collectionId, can_read: true, can_write: true }]);
});
afterAll(async () => node?.stop());

describe('authentication', () => {
  it('accepts a client token as a Bearer token', async () => {
    expect((await as(rw, `${base}/objects/`)).status).toBe(200);
  });

  it('accepts HTTP Basic with the client name and its token', async () => {
    const res = await node.request(`${base}/objects/`, { headers: { authorization: basic(rw.name, rw.token) } });
    expect(res.status).toBe(200);
  });

  it('refuses HTTP Basic with the right token under another name (401)', async () => {
    for (const user of [ro.name, 'admin', `${rw.name}x`, '']) {
      await expectError(await node.request('/taxii2/', { headers: { authorization: basic(user, rw.token) } }), 401);
    }
  });

  it('refuses the admin token under any Basic name but admin (401)', async () => {
    await expectError(await node.request('/taxii2/', { headers: { authorization: basic(rw.name, ADMIN_TOKEN) } }), 401);
  });

  it('accepts admin + the admin token over HTTP Basic on every TAXII endpoint', async () => {
    const { collectionId: id } = await collectionWithClient(node);
    const f = await endpointFixture(node, id);
    for (const e of endpointVariants) {
      const res = await sendTo(f, e, { accept: TAXII, authorization: basic('admin', ADMIN_TOKEN) });
      expect(res.status, `${e.label}: ${res.text}`).toBe(e.ok);
    }
  });

  it('stores tokens only as 32-byte hashes', async () => {
    const rows = await node.database.db.selectFrom('clients').selectAll().execute();
    const tokens = [rw, ro, wo, stranger].map((c) => c.token);
    expect(rows.length).toBeGreaterThanOrEqual(tokens.length);
    for (const row of rows) {
      expect(Buffer.from(row.token_hash).length).toBe(32);
      const stored = Object.values(row)
        .map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : String(v)))
        .join('\n');
      for (const token of tokens) expect(stored).not.toContain(token);
    }
    const settings = await node.database.db.selectFrom('node_settings').selectAll().execute();
    expect(JSON.stringify(settings)).not.toContain(ADMIN_TOKEN);
  });

  it('stops honouring a token once it is rotated, and honours the new one', async () => {
    const c = await client([{ collection_id: collectionId, can_read: true, can_write: false }]);
    const rotated = await adminJson(node, 'POST', `/admin/clients/${c.id}/token`);
    expect(rotated.token).toEqual(expect.any(String));
    expect(rotated.token).not.toBe(c.token);
    await expectError(await as(c, `${base}/`), 401);
    await expectError(await node.request(`${base}/`, { headers: { authorization: basic(c.name, c.token) } }), 401);
    expect((await as(rotated.token, `${base}/`)).status).toBe(200);
    expect((await node.request(`${base}/`, { headers: { authorization: basic(c.name, rotated.token) } })).status).toBe(200);
  });

  it('stops honouring the token of a deleted client', async () => {
    const c = await client([{ collection_id: collectionId, can_read: true, can_write: true }]);
    expect((await as(c, `${base}/`)).status).toBe(200);
    await adminJson(node, 'DELETE', `/admin/clients/${c.id}`);
    await expectError(await as(c, `${base}/`), 401);
  });
});

describe('a read-only client', () => {
  it('sees can_read true and can_write false, in the collection and in the list', async () => {
    const body: any = await (await as(ro, `${base}/`)).json();
    expect(body).toMatchObject({ id: collectionId, can_read: true, can_write: false });
    const list: any = await (await as(ro, '/default/collections/')).json();
    expect(list.collections).toEqual([expect.objectContaining({ id: collectionId, can_read: true, can_write: false })]);
  });

  it('reads objects, manifest, object and versions', async () => {
    for (const pathname of readPaths()) expect((await as(ro, pathname)).status, pathname).toBe(200);
  });

  it('gets 403 on POST, and nothing is stored', async () => {
    const obj = indicator();
    await expectError(await post(ro, [obj]), 403);
    await expectError(await node.request(`${base}/objects/${obj.id}/`), 404);
  });

  it('gets 403 on DELETE, and the object stays', async () => {
    await expectError(await as(ro, `${base}/objects/${objectId}/`, { method: 'DELETE' }), 403);
    expect((await node.request(`${base}/objects/${objectId}/`)).status).toBe(200);
  });
});

describe('a write-only client', () => {
  it('sees can_read false and can_write true', async () => {
    const body: any = await (await as(wo, `${base}/`)).json();
    expect(body).toMatchObject({ id: collectionId, can_read: false, can_write: true });
  });

  it('gets 403 on objects, manifest, object and versions', async () => {
    for (const pathname of readPaths()) await expectError(await as(wo, pathname), 403);
  });

  it('may POST (202), and reads the status of its own request', async () => {
    const res = await post(wo);
    expect(res.status).toBe(202);
    const status: any = await res.json();
    expect(status).toMatchObject({ status: 'complete', success_count: 1 });
    expect((await as(wo, `/default/status/${status.id}/`)).status).toBe(200);
  });

  it('gets 403 on DELETE: deleting needs read and write', async () => {
    await expectError(await as(wo, `${base}/objects/${objectId}/`, { method: 'DELETE' }), 403);
  });
});

describe('a client without a grant on the collection', () => {
  it('gets 404 on every endpoint of it, as if it did not exist', async () => {
    await expectError(await as(stranger, `${base}/`), 404);
    for (const pathname of readPaths()) await expectError(await as(stranger, pathname), 404);
    await expectError(await post(stranger), 404);
    await expectError(await as(stranger, `${base}/objects/${objectId}/`, { method: 'DELETE' }), 404);
  });

  it('does not see it in the collections list', async () => {
    const body: any = await (await as(stranger, '/default/collections/')).json();
    expect(body.collections.map((c: any) => c.id)).not.toContain(collectionId);
    expect(body.collections).toHaveLength(1);
  });

  it('sees an empty list ({}) when it has no grant at all', async () => {
    const lonely = await client([]);
    const res = await as(lonely, '/default/collections/');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{}');
  });

  it('loses the collection when its grant is revoked, and gets it back when granted', async () => {
    const c = await client([{ collection_id: collectionId, can_read: true, can_write: false }]);
    await adminJson(node, 'DELETE', `/admin/clients/${c.id}/grants/${collectionId}`);
    await expectError(await as(c, `${base}/objects/`), 404);
    await adminJson(node, 'PUT', `/admin/clients/${c.id}/grants/${collectionId}`, { can_read: true, can_write: true });
    expect((await as(c, `${base}/objects/`)).status).toBe(200);
    expect((await post(c)).status).toBe(202);
  });
});

describe('statuses', () => {
  it('are shown to the client that made the request and to the admin, to no one else (404)', async () => {
    const res = await post(rw);
    const { id } = (await res.json()) as any;
    expect((await as(rw, `/default/status/${id}/`)).status).toBe(200);
    expect((await node.request(`/default/status/${id}/`)).status).toBe(200);
    const other = await client([{ collection_id: collectionId, can_read: true, can_write: true }]);
    await expectError(await as(other, `/default/status/${id}/`), 404);
    await expectError(await as(stranger, `/default/status/${id}/`), 404);
  });

  it('of the admin are not shown to clients', async () => {
    const status = await postObjects(node, base, [indicator()]);
    await expectError(await as(rw, `/default/status/${status.id}/`), 404);
  });
});

describe('DELETE (TAXII 2.1 §5.7)', () => {
  it('is allowed to a client that may read and write, and removes the object', async () => {
    const obj = indicator();
    expect((await post(rw, [obj])).status).toBe(202);
    const res = await as(rw, `${base}/objects/${obj.id}/`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(TAXII);
    await expectError(await as(rw, `${base}/objects/${obj.id}/`), 404);
  });
});

describe('the admin token', () => {
  it('reads and writes every collection, and sees all of them', async () => {
    const body: any = await (await node.request('/default/collections/')).json();
    expect(body.collections.length).toBeGreaterThanOrEqual(2);
    for (const c of body.collections) expect(c).toMatchObject({ can_read: true, can_write: true, media_types: [STIX] });
  });
});
