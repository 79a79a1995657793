import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { ADMIN_TOKEN, STIX, TAXII, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator, postObjects } from '../support/stix.ts';

let node: TestNode;
let base: string;
const MAX = 200_000;

beforeAll(async () => {
  node = await startTestNode({ SYNC_INGEST_MAX_OBJECTS: '50' });
  ({ base } = await collectionWithClient(node));
  const res = await node.request('/admin/api-roots/default', {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ max_content_length: MAX }),
  });
  expect(res.status).toBe(200);
});
afterAll(async () => node?.stop());

const post = (body: string, contentType = TAXII) =>
  node.request(`${base}/objects/`, { method: 'POST', headers: { 'content-type': contentType }, body });

async function storedCount(): Promise<number> {
  const collectionId = base.split('/').pop()!;
  const r = await node.database.db
    .selectFrom('objects')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('collection_id', '=', collectionId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

describe('status of a POST (TAXII 2.1 §4.3, §5.5)', () => {
  it('reports each object: successes, and failures with a message naming the offending property', async () => {
    const good = indicator();
    const bad = indicator({ pattern: "[ipv4-addr:value = '1.2.3.4'" });
    const res = await post(JSON.stringify({ objects: [good, bad, { type: 'indicator' }, 42] }));
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toBe(TAXII);
    const s: any = await res.json();
    expect(s).toMatchObject({ status: 'complete', total_count: 4, success_count: 1, failure_count: 3, pending_count: 0 });
    expect(s.successes).toEqual([{ id: good.id, version: good.modified, message: 'added' }]);
    expect(s.failures).toHaveLength(3);
    expect(s.failures[0]).toMatchObject({ id: bad.id, version: bad.modified });
    expect(s.failures[0].message).toMatch(/pattern/);
    expect(s.pendings).toBeUndefined();
    expect(s.request_timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    const again: any = await (await node.request(`/default/status/${s.id}/`)).json();
    expect(again).toEqual(s);
  });

  it('takes a STIX bundle as application/stix+json', async () => {
    const obj = indicator();
    const res = await post(JSON.stringify({ type: 'bundle', id: 'bundle--6f6a0ea8-2a9c-4dd4-9b30-c8bd5e5f1a4d', objects: [obj] }), STIX);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ success_count: 1 });
  });

  it('treats a re-posted version as a success that changes nothing', async () => {
    const obj = indicator();
    await postObjects(node, base, [obj]);
    const before = await storedCount();
    const s = await postObjects(node, base, [obj, obj]);
    expect(s).toMatchObject({ success_count: 2, failure_count: 0 });
    expect(s.successes.map((d: any) => d.message)).toEqual(['already present: nothing changed', 'already present: nothing changed']);
    expect(await storedCount()).toBe(before);
  });
});

describe('large requests are processed in the background', () => {
  it('answers pending at once, then completes, with counts that always add up', async () => {
    const objs = Array.from({ length: 400 }, (_, i) => (i % 4 === 3 ? { type: 'indicator', id: `indicator--bad-${i}` } : indicator()));
    const res = await post(JSON.stringify({ objects: objs }));
    expect(res.status).toBe(202);
    let s: any = await res.json();
    expect(s.total_count).toBe(400);
    const seen = new Set<string>();
    for (let i = 0; i < 400 && s.status !== 'complete'; i++) {
      expect(s.success_count + s.failure_count + s.pending_count).toBe(400);
      expect(s.successes?.length ?? 0).toBe(s.success_count);
      expect(s.failures?.length ?? 0).toBe(s.failure_count);
      expect(s.pendings?.length ?? 0).toBe(s.pending_count);
      seen.add(s.status);
      await new Promise((r) => setTimeout(r, 20));
      s = await (await node.request(`/default/status/${s.id}/`)).json();
    }
    expect(seen.has('pending')).toBe(true);
    expect(s).toMatchObject({ status: 'complete', success_count: 300, failure_count: 100, pending_count: 0 });
    expect(s.failures[0].message).toMatch(/^objects\[3\]: /);
  });
});

/** The status of a POST once its job has stored everything. */
async function completed(res: Response): Promise<any> {
  expect(res.status).toBe(202);
  let s: any = await res.json();
  for (let i = 0; i < 500 && s.status !== 'complete'; i++) {
    await new Promise((r) => setTimeout(r, 20));
    s = await (await node.request(`/default/status/${s.id}/`)).json();
  }
  expect(s.status).toBe('complete');
  return s;
}

describe('a queued request, its first chunks prepared from its text while it is recorded', () => {
  it('stores a body that has `objects` twice as PostgreSQL reads it: the last one', async () => {
    const first = Array.from({ length: 60 }, () => indicator());
    const last = Array.from({ length: 60 }, () => indicator());
    const s = await completed(await post(`{"objects":${JSON.stringify(first)},"objects":${JSON.stringify(last)}}`));
    expect(s).toMatchObject({ total_count: 60, success_count: 60, failure_count: 0 });
    expect(new Set(s.successes.map((d: any) => d.id))).toEqual(new Set(last.map((o) => o.id)));
    const rows = await node.database.db
      .selectFrom('objects')
      .select(['id', 'object'])
      .where(
        'id',
        'in',
        [...first, ...last].map((o) => o.id),
      )
      .execute();
    expect(rows).toHaveLength(60);
    for (const r of rows) expect(r.object).toEqual(last.find((o) => o.id === r.id));
  });

  it('stores the marking definitions of its first chunk first, and once', async () => {
    const definition = {
      type: 'marking-definition',
      spec_version: '2.1',
      id: `marking-definition--${randomUUID()}`,
      created: '2024-01-01T00:00:00.000Z',
      definition_type: 'statement',
      definition: { statement: 'Copyright hospital CSIRT' },
    };
    const marked = Array.from({ length: 60 }, () => indicator({ object_marking_refs: [definition.id] }));
    const s = await completed(await post(JSON.stringify({ objects: [...marked.slice(0, 30), definition, ...marked.slice(30)] })));
    expect(s).toMatchObject({ total_count: 61, success_count: 61, failure_count: 0 });
    expect(s.successes.map((d: any) => d.message)).toEqual(Array(61).fill('added'));
  });

  it('tells a version re-posted with other content from the copies, against its pending row', async () => {
    const objs = Array.from({ length: 60 }, () => indicator());
    await completed(await post(JSON.stringify({ objects: objs })));
    const changed = objs.map((o, i) => (i === 7 ? { ...o, name: 'changed, same modified' } : o));
    const s = await completed(await post(JSON.stringify({ objects: changed })));
    expect(s).toMatchObject({ success_count: 59, failure_count: 1 });
    expect(s.failures[0]).toMatchObject({ id: objs[7]!.id });
    expect(s.failures[0].message).toMatch(/^objects\[7\]: another object is already stored under this id and version, with other content/);
    expect(new Set(s.successes.map((d: any) => d.message))).toEqual(new Set(['already present: nothing changed']));
  });
});

describe('bad input never gets a 5xx and never half-writes', () => {
  it('refuses malformed JSON with 400 and stores nothing', async () => {
    const before = await storedCount();
    const body = JSON.stringify({ objects: [indicator(), indicator()] }).slice(0, -3);
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ http_status: '400', error_code: 'invalid-json' });
    expect(await storedCount()).toBe(before);
  });

  it('refuses a body that is not UTF-8 with 400 and stores nothing', async () => {
    const before = await storedCount();
    const latin1 = Buffer.concat([
      Buffer.from(`{"objects":[${JSON.stringify(indicator()).slice(0, -1)},"description":"caf`),
      Buffer.from([0xe9]),
      Buffer.from('"}]}'),
    ]);
    const res = await node.request(`${base}/objects/`, { method: 'POST', headers: { 'content-type': TAXII }, body: latin1 });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      http_status: '400',
      error_code: 'invalid-json',
      description: expect.stringContaining('UTF-8'),
    });
    expect(await storedCount()).toBe(before);
  });

  it('takes a body that starts with a UTF-8 byte order mark', async () => {
    const res = await node.request(`${base}/objects/`, {
      method: 'POST',
      headers: { 'content-type': TAXII },
      body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ objects: [indicator()] }))]),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'complete', success_count: 1 });
  });

  it('refuses a body that is JSON but not an envelope with 422', async () => {
    for (const body of ['[]', '"x"', '{"objects": {}}', 'null']) {
      const res = await post(body);
      expect(res.status, body).toBe(422);
    }
    const bundle = await post('{"objects": []}', STIX);
    expect(bundle.status).toBe(422);
  });

  it('gives each of 10,000 invalid objects its own failure', async () => {
    const objs = Array.from({ length: 10_000 }, (_, i) => ({ type: 'indicator', id: `indicator--${i}`, spec_version: '2.1' }));
    const bigNode = node; // same node: the envelope is under max_content_length
    const body = JSON.stringify({ objects: objs });
    expect(body.length).toBeLessThan(MAX * 5);
    await bigNode.request('/admin/api-roots/default', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ max_content_length: 10_000_000 }),
    });
    const s = await postObjects(node, base, objs);
    await bigNode.request('/admin/api-roots/default', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ max_content_length: MAX }),
    });
    expect(s).toMatchObject({ status: 'complete', total_count: 10_000, success_count: 0, failure_count: 10_000 });
  });
});

describe('max_content_length (413)', () => {
  const envelopeOf = (size: number) => {
    const head = '{"objects":[],"x":"';
    return head + 'a'.repeat(size - head.length - 2) + '"}';
  };

  it('accepts a body exactly at the limit and refuses one octet more', async () => {
    expect((await post(envelopeOf(MAX))).status).toBe(202);
    const over = await post(envelopeOf(MAX + 1));
    expect(over.status).toBe(413);
    expect(await over.json()).toMatchObject({ http_status: '413' });
  });

  it('takes a chunked body with no Content-Length, characters split across chunks', async () => {
    const ind = indicator({ description: 'Überwachung – 医院 🏥' });
    const bytes = Buffer.from(JSON.stringify({ objects: [ind] }));
    const url = new URL(`${node.url}${base}/objects/`);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method: 'POST',
          headers: { 'content-type': TAXII, accept: TAXII, authorization: `Bearer ${ADMIN_TOKEN}`, 'transfer-encoding': 'chunked' },
        },
        (res) => {
          let body = '';
          res
            .setEncoding('utf8')
            .on('data', (d: string) => (body += d))
            .on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      // Seven-byte pieces cut through the multi-byte characters.
      for (let at = 0; at < bytes.length; at += 7) req.write(bytes.subarray(at, at + 7));
      req.end();
    });
    expect(answer.status).toBe(202);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'complete', success_count: 1 });
    const stored = await node.request(`${base}/objects/${ind.id}/`);
    expect(((await stored.json()) as { objects: { description: string }[] }).objects[0]!.description).toBe('Überwachung – 医院 🏥');
  });

  it('enforces the limit while a chunked body streams in, whatever the headers say', async () => {
    const url = new URL(`${node.url}${base}/objects/`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method: 'POST',
          headers: { 'content-type': TAXII, accept: TAXII, authorization: `Bearer ${ADMIN_TOKEN}`, 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('{"objects":[],"x":"');
      const chunk = 'b'.repeat(16_384);
      let sent = 0;
      const pump = () => {
        while (sent < MAX * 3) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end('"}');
      };
      pump();
    });
    expect(status).toBe(413);
  });
});
