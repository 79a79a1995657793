import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAXII, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, collectionWithClient, indicator, postObjects } from '../support/stix.ts';
import { basic } from '../support/endpoints.ts';

// The JSON admin API under /admin/: API roots, collections, clients and their grants.

let node: TestNode;
let clientToken: string;
beforeAll(async () => {
  node = await startTestNode();
  ({ token: clientToken } = await collectionWithClient(node));
});
afterAll(async () => node?.stop());

type Answer = { status: number; body: any; text: string };

/** An admin API call; `body` a value is sent as JSON, a string as it is. */
async function call(method: string, pathname: string, body?: unknown, token?: string | null): Promise<Answer> {
  const res = await node.request(`/admin${pathname}`, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    ...(token === undefined ? {} : { token }),
  });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : undefined };
}

/** A refusal: the status, and a message that names what was wrong. */
function expectRefused(a: Answer, status: number, mentions?: string): void {
  expect(a.status, a.text).toBe(status);
  expect(a.body.http_status).toBe(String(status));
  if (mentions) expect(a.body.description).toContain(mentions);
}

const rootName = () => `r-${randomUUID().slice(0, 8)}`;

describe('who may use the admin API', () => {
  const routes: [string, string, unknown?][] = [
    ['GET', '/api-roots'],
    ['POST', '/api-roots', { name: 'nope', title: 'x' }],
    ['GET', '/api-roots/default'],
    ['PATCH', '/api-roots/default', { title: 'taken over' }],
    ['DELETE', '/api-roots/default'],
    ['GET', '/collections'],
    ['POST', '/collections', { api_root: 'default', title: 'x' }],
    ['GET', '/clients'],
    ['POST', '/clients', { name: 'intruder' }],
  ];

  it.each(routes)('%s %s without a token gets 401', async (method, pathname, body) => {
    const a = await call(method, pathname, body, null);
    expectRefused(a, 401);
  });

  it.each(routes)('%s %s with a client token gets 403', async (method, pathname, body) => {
    expectRefused(await call(method, pathname, body, clientToken), 403);
  });

  it('refuses a wrong token with 401, and the default API root is still there', async () => {
    expectRefused(await call('DELETE', '/api-roots/default', undefined, 'wrong-token-0123456789abcdef'), 401);
    expect((await call('GET', '/api-roots/default')).status).toBe(200);
  });

  it('accepts the admin token over HTTP Basic as admin', async () => {
    const res = await node.request('/admin/api-roots', { headers: { authorization: basic('admin', 'test-admin-token-0123456789abcdef') } });
    expect(res.status).toBe(200);
  });
});

describe('API roots', () => {
  it('are created, listed, read, updated and deleted, and TAXII follows each step', async () => {
    const name = rootName();
    const created = await call('POST', '/api-roots', { name, title: 'Partners', description: 'For partners' });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ name, title: 'Partners', description: 'For partners' });
    expect(Number.isInteger(created.body.max_content_length)).toBe(true);

    expect((await call('GET', '/api-roots')).body.api_roots).toContainEqual(created.body);
    expect((await call('GET', `/api-roots/${name}`)).body).toEqual(created.body);
    const discovery: any = await (await node.request('/taxii2/')).json();
    expect(discovery.api_roots).toContain(`${node.url}/${name}/`);

    const updated = await call('PATCH', `/api-roots/${name}`, { title: 'Partners (EU)', description: null, max_content_length: 4096 });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body).toMatchObject({ name, title: 'Partners (EU)', description: null, max_content_length: 4096 });
    const info: any = await (await node.request(`/${name}/`)).json();
    expect(info).toEqual({ title: 'Partners (EU)', versions: [TAXII], max_content_length: 4096 });

    expect((await call('DELETE', `/api-roots/${name}`)).status).toBe(204);
    expectRefused(await call('GET', `/api-roots/${name}`), 404);
    expectRefused(await call('DELETE', `/api-roots/${name}`), 404);
    expect((await node.request(`/${name}/`)).status).toBe(404);
  });

  it('deleting one deletes its collections', async () => {
    const name = rootName();
    await adminJson(node, 'POST', '/admin/api-roots', { name, title: 'Short-lived' });
    const col = await adminJson(node, 'POST', '/admin/collections', { api_root: name, title: 'c' });
    await adminJson(node, 'DELETE', `/admin/api-roots/${name}`);
    expectRefused(await call('GET', `/collections/${col.id}`), 404);
  });

  it.each(['taxii2', 'admin', 'healthz', 'readyz'])('refuses the reserved name %s with 400', async (name) => {
    expectRefused(await call('POST', '/api-roots', { name, title: 'x' }), 400, 'name');
  });

  it('refuses a duplicate name with 409', async () => {
    expectRefused(await call('POST', '/api-roots', { name: 'default', title: 'again' }), 409);
  });

  it.each([
    [{ title: 'no name' }, 'name'],
    [{ name: 'Upper', title: 'x' }, 'name'],
    [{ name: 'has space', title: 'x' }, 'name'],
    [{ name: 'a'.repeat(64), title: 'x' }, 'name'],
    [{ name: 'ok-name' }, 'title'],
    [{ name: 'ok-name', title: '   ' }, 'title'],
    [{ name: 'ok-name', title: 'x', max_content_length: 0 }, 'max_content_length'],
    [{ name: 'ok-name', title: 'x', max_content_length: 1.5 }, 'max_content_length'],
    [{ name: 'ok-name', title: 'x', max_content_length: '1000' }, 'max_content_length'],
    [{ name: 'ok-name', title: 'x', colour: 'red' }, 'colour'],
  ])('refuses %j with 400 naming %s', async (body, field) => {
    expectRefused(await call('POST', '/api-roots', body), 400, field);
  });

  it('refuses a bad update with 400 naming the field, and an unknown root with 404', async () => {
    expectRefused(await call('PATCH', '/api-roots/default', { max_content_length: -5 }), 400, 'max_content_length');
    expectRefused(await call('PATCH', '/api-roots/default', { name: 'renamed' }), 400, 'name');
    expectRefused(await call('PATCH', '/api-roots/no-such-root', { title: 'x' }), 404);
    expectRefused(await call('GET', '/api-roots/no-such-root'), 404);
  });
});

describe('collections', () => {
  it('are created, listed, read, updated and deleted', async () => {
    const created = await call('POST', '/collections', {
      api_root: 'default',
      title: 'Phishing',
      alias: 'phishing-1',
      description: 'Lures',
    });
    expect(created.status, created.text).toBe(201);
    const { id } = created.body;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(created.body).toMatchObject({ api_root: 'default', title: 'Phishing', alias: 'phishing-1', description: 'Lures' });

    expect((await call('GET', '/collections?api_root=default')).body.collections).toContainEqual(created.body);
    expect((await call('GET', `/collections/${id}`)).body).toEqual(created.body);
    const taxii: any = await (await node.request(`/default/collections/${id}/`)).json();
    expect(taxii).toMatchObject({ id, title: 'Phishing', alias: 'phishing-1', description: 'Lures' });

    const updated = await call('PATCH', `/collections/${id}`, { title: 'Phishing lures', alias: null });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body).toMatchObject({ id, title: 'Phishing lures', alias: null });

    expect((await call('DELETE', `/collections/${id}`)).status).toBe(204);
    expectRefused(await call('GET', `/collections/${id}`), 404);
    expect((await node.request(`/default/collections/${id}/`)).status).toBe(404);
  });

  it('takes the id it is given, and refuses that id twice with 409', async () => {
    const id = randomUUID();
    expect((await call('POST', '/collections', { api_root: 'default', id, title: 'x' })).body.id).toBe(id);
    expectRefused(await call('POST', '/collections', { api_root: 'default', id, title: 'y' }), 409);
  });

  it('keeps aliases unique within an API root (409), not across roots', async () => {
    const other = rootName();
    await adminJson(node, 'POST', '/admin/api-roots', { name: other, title: 'other' });
    await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: 'a', alias: 'shared-alias' });
    expectRefused(await call('POST', '/collections', { api_root: 'default', title: 'b', alias: 'shared-alias' }), 409);
    expect((await call('POST', '/collections', { api_root: other, title: 'c', alias: 'shared-alias' })).status).toBe(201);
    const d = await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: 'd', alias: 'alias-d' });
    expectRefused(await call('PATCH', `/collections/${d.id}`, { alias: 'shared-alias' }), 409);
  });

  it('refuses an unknown API root with 404, and a bad body with 400 naming the field', async () => {
    expectRefused(await call('POST', '/collections', { api_root: 'no-such-root', title: 'x' }), 404, 'no-such-root');
    expectRefused(await call('POST', '/collections', { api_root: 'default' }), 400, 'title');
    expectRefused(await call('POST', '/collections', { title: 'x' }), 400, 'api_root');
    expectRefused(await call('POST', '/collections', { api_root: 'default', title: 'x', id: 'not-a-uuid' }), 400, 'id');
    expectRefused(await call('POST', '/collections', { api_root: 'default', title: 'x', alias: 'Bad Alias' }), 400, 'alias');
    expectRefused(await call('PATCH', `/collections/${randomUUID()}`, { title: 'x' }), 404);
  });

  it('deleting one removes its objects, statuses and grants', async () => {
    const { collectionId, clientId, base } = await collectionWithClient(node);
    const status = await postObjects(node, base, [indicator(), indicator()]);
    const count = async (table: 'objects' | 'statuses') =>
      Number(
        (
          await node.database.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .where('collection_id', '=', collectionId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await count('objects')).toBe(2);
    expect((await call('DELETE', `/collections/${collectionId}`)).status).toBe(204);
    expect(await count('objects')).toBe(0);
    expect(await count('statuses')).toBe(0);
    expect((await node.request(`/default/status/${status.id}/`)).status).toBe(404);
    expect((await call('GET', `/clients/${clientId}`)).body.grants).toEqual([]);
  });
});

describe('clients', () => {
  let collectionId: string;
  beforeAll(async () => {
    ({ collectionId } = await collectionWithClient(node));
  });

  it('show the token once, at creation, and never in list or get', async () => {
    const name = `c-${randomUUID().slice(0, 8)}`;
    const created = await call('POST', '/clients', { name, grants: [{ collection_id: collectionId, can_read: true, can_write: false }] });
    expect(created.status, created.text).toBe(201);
    const { id, token } = created.body;
    expect(token).toEqual(expect.any(String));
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(created.body.grants).toEqual([{ collection_id: collectionId, can_read: true, can_write: false }]);

    const one = await call('GET', `/clients/${id}`);
    expect(one.body).toEqual({
      id,
      name,
      kind: 'client',
      clearance: 'CLEAR',
      own_org: false,
      peer_amber: false,
      organisation: null,
      grants: created.body.grants,
    });
    const list = await call('GET', '/clients');
    expect(list.body.clients).toContainEqual(one.body);
    expect(one.text).not.toContain(token);
    expect(list.text).not.toContain(token);
    expect(list.body.clients.every((c: any) => !('token' in c) && !('token_hash' in c))).toBe(true);

    const res = await node.request(`/default/collections/${collectionId}/`, { token });
    expect(res.status).toBe(200);
  });

  it('have grants set with PUT and removed with DELETE', async () => {
    const c = await adminJson(node, 'POST', '/admin/clients', { name: `c-${randomUUID().slice(0, 8)}` });
    expect(c.grants).toEqual([]);
    const put = await call('PUT', `/clients/${c.id}/grants/${collectionId}`, { can_read: false, can_write: true });
    expect(put.status, put.text).toBe(200);
    expect(put.body.grants).toEqual([{ collection_id: collectionId, can_read: false, can_write: true }]);
    const changed = await call('PUT', `/clients/${c.id}/grants/${collectionId}`, { can_read: true, can_write: true });
    expect(changed.body.grants).toEqual([{ collection_id: collectionId, can_read: true, can_write: true }]);
    const removed = await call('DELETE', `/clients/${c.id}/grants/${collectionId}`);
    expect(removed.status).toBe(200);
    expect(removed.body.grants).toEqual([]);
    expect((await call('GET', `/clients/${c.id}`)).body.grants).toEqual([]);
  });

  it('refuses grants on unknown collections (404) or with bad bodies (400 naming the field)', async () => {
    const c = await adminJson(node, 'POST', '/admin/clients', { name: `c-${randomUUID().slice(0, 8)}` });
    expectRefused(await call('PUT', `/clients/${c.id}/grants/${randomUUID()}`, { can_read: true, can_write: true }), 404);
    expectRefused(await call('PUT', `/clients/${c.id}/grants/not-a-uuid`, { can_read: true, can_write: true }), 404);
    expectRefused(await call('PUT', `/clients/${randomUUID()}/grants/${collectionId}`, { can_read: true, can_write: true }), 404);
    expectRefused(await call('PUT', `/clients/${c.id}/grants/${collectionId}`, { can_read: 'yes', can_write: true }), 400, 'can_read');
    expectRefused(await call('PUT', `/clients/${c.id}/grants/${collectionId}`, { can_read: true }), 400, 'can_write');
  });

  it('are not created at all when one of their grants names an unknown collection', async () => {
    const name = `c-${randomUUID().slice(0, 8)}`;
    const grants = [
      { collection_id: collectionId, can_read: true, can_write: true },
      { collection_id: randomUUID(), can_read: true, can_write: true },
    ];
    expectRefused(await call('POST', '/clients', { name, grants }), 404);
    expect((await call('GET', '/clients')).body.clients.map((c: any) => c.name)).not.toContain(name);
  });

  it.each([
    [{ name: 'admin' }, 'name'],
    [{ name: 'alice:bob' }, 'name'],
    [{ name: '' }, 'name'],
    [{ name: 'has space' }, 'name'],
    [{}, 'name'],
    [{ name: 'ok', grants: [{ collection_id: 'nope', can_read: true, can_write: true }] }, 'collection_id'],
    [{ name: 'ok', token: 'my-own-token-0123456789' }, 'token'],
  ])('refuses %j with 400 naming %s', async (body, field) => {
    expectRefused(await call('POST', '/clients', body), 400, field);
  });

  it('refuses a duplicate name with 409, on create and on rename', async () => {
    const a = await adminJson(node, 'POST', '/admin/clients', { name: `c-${randomUUID().slice(0, 8)}` });
    const b = await adminJson(node, 'POST', '/admin/clients', { name: `c-${randomUUID().slice(0, 8)}` });
    expectRefused(await call('POST', '/clients', { name: a.name }), 409);
    expectRefused(await call('PATCH', `/clients/${b.id}`, { name: a.name }), 409);
    expectRefused(await call('PATCH', `/clients/${b.id}`, { name: 'admin' }), 400, 'name');
    const renamed = await call('PATCH', `/clients/${b.id}`, { name: `${b.name}-renamed` });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.body).toMatchObject({ id: b.id, name: `${b.name}-renamed` });
  });

  it('get a new token on rotation, shown once', async () => {
    const c = await adminJson(node, 'POST', '/admin/clients', { name: `c-${randomUUID().slice(0, 8)}` });
    const rotated = await call('POST', `/clients/${c.id}/token`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.token).not.toBe(c.token);
    expect((await call('GET', `/clients/${c.id}`)).text).not.toContain(rotated.body.token);
  });

  it('are deleted', async () => {
    const c = await adminJson(node, 'POST', '/admin/clients', { name: `c-${randomUUID().slice(0, 8)}` });
    expect((await call('DELETE', `/clients/${c.id}`)).status).toBe(204);
    expectRefused(await call('GET', `/clients/${c.id}`), 404);
    expectRefused(await call('DELETE', `/clients/${c.id}`), 404);
  });
});

describe('unknown or invalid ids, malformed bodies', () => {
  const unknown = randomUUID();
  it.each([
    ['GET', `/collections/${unknown}`],
    ['GET', '/collections/not-a-uuid'],
    ['PATCH', '/collections/not-a-uuid'],
    ['DELETE', `/collections/${unknown}`],
    ['DELETE', '/collections/not-a-uuid'],
    ['GET', `/clients/${unknown}`],
    ['GET', '/clients/not-a-uuid'],
    ['PATCH', `/clients/${unknown}`],
    ['DELETE', '/clients/%zz'],
    ['POST', `/clients/${unknown}/token`],
    ['POST', '/clients/not-a-uuid/token'],
    ['DELETE', `/clients/${unknown}/grants/${unknown}`],
    ['GET', '/api-roots/%zz'],
    ['DELETE', '/api-roots/no-such-root'],
    ['GET', '/no-such-thing'],
    ['GET', '/clients/not-a-uuid/grants'],
  ])('%s %s gets 404', async (method, pathname) => {
    const patch = pathname.startsWith('/clients') ? { name: 'renamed' } : { title: 'x' };
    expectRefused(await call(method, pathname, method === 'PATCH' ? patch : undefined), 404);
  });

  it('PUT /api-roots gets 405: the path takes GET and POST (test/integration/methods.test.ts covers every route)', async () => {
    expectRefused(await call('PUT', '/api-roots', { name: 'x' }), 405);
  });

  it.each([
    ['POST', '/api-roots'],
    ['PATCH', '/api-roots/default'],
    ['POST', '/collections'],
    ['POST', '/clients'],
  ])('%s %s with malformed JSON gets 400', async (method, pathname) => {
    for (const body of ['{"name": ', 'not json', '{"a":1}}']) expectRefused(await call(method, pathname, body), 400);
    for (const body of ['[]', 'null', '"text"', '42']) expectRefused(await call(method, pathname, body), 400);
  });

  it('gets 400 for a body that is not UTF-8', async () => {
    const res = await node.request('/admin/api-roots', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    });
    expect(res.status).toBe(400);
  });
});
