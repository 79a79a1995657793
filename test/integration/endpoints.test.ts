import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, STIX, TAXII, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, collectionWithClient, indicator } from '../support/stix.ts';
import { basic, endpointFixture, endpointVariants, expectTaxiiError, rawRequest, sendTo } from '../support/endpoints.ts';
import type { Fixture } from '../support/endpoints.ts';

// The shared suite (STYLE habit 6): every TAXII endpoint, with and without its trailing slash,
// checked for the same media-type, authentication and error rules.

let node: TestNode;
let f: Fixture;
const admin = `Bearer ${ADMIN_TOKEN}`;

beforeAll(async () => {
  node = await startTestNode();
  const { collectionId } = await collectionWithClient(node);
  f = await endpointFixture(node, collectionId);
  await adminJson(node, 'POST', '/admin/api-roots', { name: 'second', title: 'Second root' });
});
afterAll(async () => node?.stop());

const SERVED = [
  'application/taxii+json;version=2.1',
  'application/taxii+json',
  '*/*',
  'application/json, */*',
  'text/html;q=0.9, application/taxii+json;version=2.1',
  'application/taxii+json;version=2.1;q=1',
];
const REFUSED = [
  'application/json',
  'application/taxii+json;version=2.0',
  'application/taxii+json;version=2.1;q=0',
  'text/html',
  'garbage;;;',
];

describe.each(endpointVariants)('$label', (e) => {
  it(`succeeds with ${e.ok} as application/taxii+json;version=2.1`, async () => {
    const res = await sendTo(f, e, { accept: TAXII, authorization: admin });
    expect(res.status, res.text).toBe(e.ok);
    expect(res.headers['content-type']).toBe(TAXII);
  });

  it.each(SERVED)('serves Accept: %s', async (accept) => {
    const res = await sendTo(f, e, { accept, authorization: admin });
    expect(res.status, res.text).toBe(e.ok);
    expect(res.headers['content-type']).toBe(TAXII);
  });

  it('refuses a request without Accept with 406', async () => {
    expectTaxiiError(await sendTo(f, e, { authorization: admin }), 406);
  });

  it.each(REFUSED)('refuses Accept: %s with 406', async (accept) => {
    expectTaxiiError(await sendTo(f, e, { accept, authorization: admin }), 406);
  });

  it('asks for credentials (401, WWW-Authenticate naming Basic and Bearer) when none are sent', async () => {
    const res = await sendTo(f, e, { accept: TAXII });
    expectTaxiiError(res, 401);
    const challenge = String(res.headers['www-authenticate']);
    expect(challenge).toMatch(/\bBasic realm="[^"]*"/i);
    expect(challenge).toMatch(/\bBearer\b/i);
  });

  it('refuses a wrong Bearer token, and Basic with a wrong password, with 401', async () => {
    expectTaxiiError(await sendTo(f, e, { accept: TAXII, authorization: 'Bearer not-the-token-0123456789' }), 401);
    expectTaxiiError(await sendTo(f, e, { accept: TAXII, authorization: basic('admin', 'not-the-token') }), 401);
  });

  it.each([`Token ${ADMIN_TOKEN}`, 'Basic !!!', `Basic ${Buffer.from('admin').toString('base64')}`, 'Bearer'])(
    'refuses the malformed Authorization %s with 401',
    async (authorization) => {
      expectTaxiiError(await sendTo(f, e, { accept: TAXII, authorization }), 401);
    },
  );
});

describe('discovery (TAXII 2.1 §4.1)', () => {
  it('lists the API roots as absolute URLs, with default among them, each one served', async () => {
    const res = await node.request('/taxii2/');
    const body: any = await res.json();
    expect(body.title).toEqual(expect.any(String));
    expect(body.default).toBe(`${node.url}/default/`);
    expect(body.api_roots).toEqual(expect.arrayContaining([`${node.url}/default/`, `${node.url}/second/`]));
    for (const url of body.api_roots) {
      expect(new URL(url).href).toBe(url);
      const root = await fetch(url, { headers: { accept: TAXII, authorization: admin } });
      expect(root.status).toBe(200);
    }
  });
});

describe('API root information (TAXII 2.1 §4.2)', () => {
  it('gives versions as media types and max_content_length as an integer', async () => {
    const body: any = await (await node.request('/default/')).json();
    expect(body.title).toEqual(expect.any(String));
    expect(body.versions).toEqual(['application/taxii+json;version=2.1']);
    expect(Number.isInteger(body.max_content_length)).toBe(true);
    expect(body.max_content_length).toBeGreaterThan(0);
  });

  it.each(['/nope/', '/nope', '/nope/collections/', `/nope/collections/${randomUUID()}/objects/`, `/nope/status/${randomUUID()}/`])(
    'gives 404 for an unknown API root: %s',
    async (pathname) => {
      const res = await node.request(pathname);
      expectTaxiiError({ status: res.status, headers: res.headers, text: await res.text() }, 404);
    },
  );
});

describe('collections (TAXII 2.1 §5.1, §5.2)', () => {
  it('lists collections sorted by id', async () => {
    // Created in descending id order, so insertion order is not the answer.
    const ids = Array.from({ length: 5 }, () => randomUUID())
      .sort()
      .reverse();
    for (const id of ids) await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', id, title: `c ${id}` });
    const body: any = await (await node.request('/default/collections/')).json();
    const listed: string[] = body.collections.map((c: any) => c.id);
    expect(listed).toEqual(expect.arrayContaining(ids));
    expect(listed).toEqual([...listed].sort());
  });

  it('describes a collection with its required fields and the STIX 2.1 media type', async () => {
    const body: any = await (await node.request(`${f.base}/`)).json();
    expect(body).toMatchObject({ id: f.collectionId, title: expect.any(String), can_read: true, can_write: true });
    expect(body.media_types).toContain(STIX);
  });
});

describe('POST bodies (TAXII 2.1 §5.5)', () => {
  const post = (contentType: string | undefined, body: string) =>
    rawRequest(
      node.url,
      'POST',
      `${f.base}/objects/`,
      { accept: TAXII, authorization: admin, ...(contentType ? { 'content-type': contentType } : {}) },
      body,
    );

  it('takes a TAXII envelope as application/taxii+json;version=2.1', async () => {
    const res = await post(TAXII, JSON.stringify({ objects: [indicator()] }));
    expect(res.status, res.text).toBe(202);
    expect(res.json()).toMatchObject({ status: 'complete', total_count: 1, success_count: 1 });
  });

  it('takes a STIX bundle as application/stix+json;version=2.1', async () => {
    const obj = indicator();
    const res = await post(STIX, JSON.stringify({ type: 'bundle', id: `bundle--${randomUUID()}`, objects: [obj] }));
    expect(res.status, res.text).toBe(202);
    expect(res.json()).toMatchObject({ total_count: 1, success_count: 1, successes: [{ id: obj.id }] });
    const stored = await node.request(`${f.base}/objects/${obj.id}/`);
    expect(((await stored.json()) as any).objects).toEqual([obj]);
  });

  it('refuses a body that is not JSON with 400, and JSON that is no envelope with 422', async () => {
    expectTaxiiError(await post(TAXII, '{"objects": ['), 400);
    expectTaxiiError(await post(TAXII, '[]'), 422);
    expectTaxiiError(await post(TAXII, '{"objects": {}}'), 422);
    expectTaxiiError(await post(STIX, '{"objects": []}'), 422);
  });

  it.each([['application/json'], ['text/plain'], ['application/taxii+json;version=2.0'], [undefined]])(
    'refuses Content-Type %s with 415',
    async (contentType) => {
      expectTaxiiError(await post(contentType, JSON.stringify({ objects: [indicator()] })), 415);
    },
  );
});

describe('identifiers in paths', () => {
  const junk = ['not-a-uuid', '12345', `${randomUUID()}x`, "x'%20OR%201=1--", 'a'.repeat(5000)];

  it.each(junk)('gives 404 (a TAXII error, never 5xx) for collection id %s on every collection endpoint', async (id) => {
    const base = `/default/collections/${id}`;
    const object = `indicator--${randomUUID()}`;
    for (const [method, pathname] of [
      ['GET', `${base}/`],
      ['GET', `${base}/manifest/`],
      ['GET', `${base}/objects/`],
      ['POST', `${base}/objects/`],
      ['GET', `${base}/objects/${object}/`],
      ['DELETE', `${base}/objects/${object}/`],
      ['GET', `${base}/objects/${object}/versions/`],
    ] as const) {
      const headers = { accept: TAXII, authorization: admin, 'content-type': TAXII };
      const res = await rawRequest(node.url, method, pathname, headers, method === 'POST' ? '{"objects":[]}' : undefined);
      expectTaxiiError(res, 404);
    }
  });

  it.each(junk)('gives 404 for status id %s', async (id) => {
    expectTaxiiError(await rawRequest(node.url, 'GET', `/default/status/${id}/`, { accept: TAXII, authorization: admin }), 404);
  });

  it('gives 404 for a well-formed but unknown collection id and status id', async () => {
    for (const pathname of [
      `/default/collections/${randomUUID()}/`,
      `/default/collections/${randomUUID()}/objects/`,
      `/default/status/${randomUUID()}/`,
    ]) {
      expectTaxiiError(await rawRequest(node.url, 'GET', pathname, { accept: TAXII, authorization: admin }), 404);
    }
  });

  it('gives 404 for a collection asked for under another API root than its own', async () => {
    for (const suffix of ['/', '/objects/', '/manifest/', `/objects/${f.objectId}/`]) {
      const res = await rawRequest(node.url, 'GET', `/second/collections/${f.collectionId}${suffix}`, {
        accept: TAXII,
        authorization: admin,
      });
      expectTaxiiError(res, 404);
    }
  });

  it('gives 404 for a status asked for under another API root than its collection', async () => {
    const res = await rawRequest(node.url, 'GET', `/second/status/${f.statusId}/`, { accept: TAXII, authorization: admin });
    expectTaxiiError(res, 404);
  });

  it.each(['not-a-stix-id', `indicator--${randomUUID()}`, 'a'.repeat(5000)])(
    'gives 404 for object id %s on object, versions and DELETE',
    async (objectId) => {
      for (const [method, suffix] of [
        ['GET', '/'],
        ['GET', '/versions/'],
        ['DELETE', '/'],
      ] as const) {
        const res = await rawRequest(node.url, method, `${f.base}/objects/${objectId}${suffix}`, { accept: TAXII, authorization: admin });
        expectTaxiiError(res, 404);
      }
    },
  );
});
