import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator, ipv4, postObjects } from '../support/stix.ts';
import type { StixObject } from '../support/stix.ts';

// TAXII 2.1 §5.6 (get an object), §5.7 (delete an object), §5.8 (an object's versions), and the
// versioning of objects that have no `modified`/`created` (most SCOs).

type Reply = { status: number; headers: Headers; text: string; body: any };

let node: TestNode;

async function get(path: string): Promise<Reply> {
  const res = await node.request(path);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
}

async function del(path: string): Promise<Reply> {
  const res = await node.request(path, { method: 'DELETE' });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
}

function expectTaxiiError(r: Reply, status: number): void {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toBe('application/taxii+json;version=2.1');
  expect(r.body).toMatchObject({ http_status: String(status) });
  expect(typeof r.body.title).toBe('string');
}

const V = ['2024-01-01T00:00:00.000Z', '2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z'] as const;

/** One indicator in three versions, posted oldest first, each in its own request. */
function threeVersions(): StixObject[] {
  const v1 = indicator({ created: V[0] });
  return V.map((modified, i) => ({ ...v1, modified, name: `version ${i + 1}` }));
}

/** A fresh collection holding `objects`, posted one request each in the order given. */
async function collectionWith(...objects: StixObject[]): Promise<string> {
  const { base } = await collectionWithClient(node);
  for (const o of objects) {
    const status = await postObjects(node, base, [o]);
    expect(status).toMatchObject({ status: 'complete', success_count: 1 });
  }
  return base;
}

beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => node?.stop());

describe('GET versions (§5.8)', () => {
  it("lists an object's versions oldest first, with date headers and next", async () => {
    const versions = threeVersions();
    const id = versions[0]!.id;
    const base = await collectionWith(...versions, indicator());
    const manifest = (await get(`${base}/manifest/?match[id]=${id}&match[version]=all`)).body.objects;

    const r = await get(`${base}/objects/${id}/versions/`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ more: false, versions: [...V] });
    expect(r.headers.get('x-taxii-date-added-first')).toBe(manifest[0].date_added);
    expect(r.headers.get('x-taxii-date-added-last')).toBe(manifest[2].date_added);

    const p1 = await get(`${base}/objects/${id}/versions/?limit=2`);
    expect(p1.body).toMatchObject({ more: true, versions: [V[0], V[1]] });
    expect(p1.headers.get('x-taxii-date-added-last')).toBe(manifest[1].date_added);
    const p2 = await get(`${base}/objects/${id}/versions/?limit=2&next=${encodeURIComponent(p1.body.next)}`);
    expect(p2.body).toEqual({ more: false, versions: [V[2]] });

    const after = await get(`${base}/objects/${id}/versions/?added_after=${encodeURIComponent(manifest[0].date_added)}`);
    expect(after.body.versions).toEqual([V[1], V[2]]);
  });

  it('answers 404 for an object the collection does not hold', async () => {
    const base = await collectionWith(indicator());
    expectTaxiiError(await get(`${base}/objects/indicator--${randomUUID()}/versions/`), 404);
  });
});

describe('GET an object (§5.6)', () => {
  let base: string;
  let versions: StixObject[];
  let id: string;
  beforeAll(async () => {
    versions = threeVersions();
    id = versions[0]!.id;
    base = await collectionWith(versions[0]!, indicator(), versions[1]!, versions[2]!);
  });

  it('returns the latest version by default', async () => {
    const r = await get(`${base}/objects/${id}/`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ more: false, objects: [versions[2]] });
  });

  it('filters by match[version]: first, all, an exact version, a comma list', async () => {
    expect((await get(`${base}/objects/${id}/?match[version]=first`)).body.objects).toEqual([versions[0]]);
    expect((await get(`${base}/objects/${id}/?match[version]=last`)).body.objects).toEqual([versions[2]]);
    expect((await get(`${base}/objects/${id}/?match[version]=all`)).body.objects).toEqual(versions);
    expect((await get(`${base}/objects/${id}/?match[version]=${V[1]}`)).body.objects).toEqual([versions[1]]);
    expect((await get(`${base}/objects/${id}/?match[version]=first,${V[1]}`)).body.objects).toEqual([versions[0], versions[1]]);
    expect((await get(`${base}/objects/${id}/?match[version]=first,last`)).body.objects).toEqual([versions[0], versions[2]]);
    const none = await get(`${base}/objects/${id}/?match[version]=2023-01-01T00:00:00.000Z`);
    expect(none.status).toBe(200);
    expect(none.text).toBe('{}');
    expect(none.headers.get('x-taxii-date-added-first')).toBeNull();
  });

  it('matches an exact version written with more than six fractional digits, as the versions endpoint lists it', async () => {
    // STIX timestamps may carry any precision; the version a client reads back must select it.
    // (Stored at microsecond resolution, so these two differ in their sixth digit once rounded.)
    const fine = ['2024-05-01T00:00:00.1234561Z', '2024-05-01T00:00:00.123456789Z'];
    const v1 = indicator({ created: '2024-04-01T00:00:00.000Z' });
    const objects = fine.map((modified) => ({ ...v1, modified }));
    const b = await collectionWith(...objects);
    const listed = (await get(`${b}/objects/${v1.id}/versions/`)).body.versions;
    expect(listed).toEqual(fine);
    for (const [i, version] of listed.entries()) {
      const r = await get(`${b}/objects/${v1.id}/?match[version]=${encodeURIComponent(version)}`);
      expect(r.body.objects, version).toEqual([objects[i]]);
    }
    expect((await del(`${b}/objects/${v1.id}/?match[version]=${encodeURIComponent(fine[0]!)}`)).status).toBe(200);
    expect((await get(`${b}/objects/${v1.id}/versions/`)).body.versions).toEqual([fine[1]]);
  });

  it('answers 404 for an unknown object, and 400 for a bad match[version]', async () => {
    expectTaxiiError(await get(`${base}/objects/indicator--${randomUUID()}/`), 404);
    expectTaxiiError(await get(`${base}/objects/${id}/?match[version]=latest`), 400);
    expectTaxiiError(await get(`${base}/objects/${id}/?match[version]=first&match[version]=last`), 400);
  });
});

describe('DELETE an object (§5.7)', () => {
  it('without filters removes every version: the object and its versions are then 404', async () => {
    const versions = threeVersions();
    const id = versions[0]!.id;
    const keep = indicator();
    const base = await collectionWith(...versions, keep);
    const r = await del(`${base}/objects/${id}/`);
    expect(r.status).toBe(200);
    expectTaxiiError(await get(`${base}/objects/${id}/`), 404);
    expectTaxiiError(await get(`${base}/objects/${id}/versions/`), 404);
    expect((await get(`${base}/objects/?match[version]=all`)).body.objects).toEqual([keep]);
    expectTaxiiError(await del(`${base}/objects/${id}/`), 404);
  });

  it('with match[version]=first removes only the oldest version', async () => {
    const versions = threeVersions();
    const id = versions[0]!.id;
    const base = await collectionWith(...versions);
    const before = (await get(`${base}/manifest/?match[version]=all`)).body.objects;
    expect((await del(`${base}/objects/${id}/?match[version]=first`)).status).toBe(200);
    expect((await get(`${base}/objects/${id}/versions/`)).body.versions).toEqual([V[1], V[2]]);
    // The versions left keep their date_added.
    expect((await get(`${base}/manifest/?match[version]=all`)).body.objects).toEqual(before.slice(1));
  });

  it('with an exact match[version] removes that version only', async () => {
    const versions = threeVersions();
    const id = versions[0]!.id;
    const base = await collectionWith(...versions);
    expect((await del(`${base}/objects/${id}/?match[version]=${V[1]}`)).status).toBe(200);
    expect((await get(`${base}/objects/${id}/versions/`)).body.versions).toEqual([V[0], V[2]]);
    expect((await del(`${base}/objects/${id}/?match[version]=last`)).status).toBe(200);
    expect((await get(`${base}/objects/${id}/versions/`)).body.versions).toEqual([V[0]]);
  });

  it('with match[spec_version] removes the versions of that spec version only', async () => {
    const id = `malware--${randomUUID()}`;
    const legacy: StixObject = { type: 'malware', id, created: V[0], modified: V[2], name: 'Old family', labels: ['trojan'] };
    const current: StixObject = {
      type: 'malware',
      spec_version: '2.1',
      id,
      created: V[0],
      modified: V[1],
      name: 'Family',
      is_family: true,
    };
    const base = await collectionWith(current, legacy);
    expect((await get(`${base}/objects/${id}/versions/?match[spec_version]=2.0,2.1`)).body.versions).toEqual([V[1], V[2]]);
    expect((await del(`${base}/objects/${id}/?match[spec_version]=2.0`)).status).toBe(200);
    expect((await get(`${base}/objects/${id}/versions/?match[spec_version]=2.0,2.1`)).body.versions).toEqual([V[1]]);
    expect((await get(`${base}/objects/${id}/`)).body.objects).toEqual([current]);
    expect((await get(`${base}/objects/${id}/?match[spec_version]=2.0`)).text).toBe('{}');
  });

  it('answers 404 for an unknown object', async () => {
    const base = await collectionWith(indicator());
    expectTaxiiError(await del(`${base}/objects/indicator--${randomUUID()}/`), 404);
  });
});

describe('objects without created or modified (SCOs)', () => {
  it('get a stable server-side version: their first date_added', async () => {
    const addr = ipv4('203.0.113.9');
    const base = await collectionWith(indicator());
    const status = await postObjects(node, base, [addr]);
    const [record] = (await get(`${base}/manifest/?match[id]=${addr.id}`)).body.objects;
    expect(record.version).toBe(record.date_added);
    expect(status.successes).toEqual([{ id: addr.id, version: record.version, message: expect.not.stringMatching(/already present/) }]);
    expect(record.version).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect((await get(`${base}/objects/${addr.id}/versions/`)).body).toEqual({ more: false, versions: [record.date_added] });
    expect((await get(`${base}/objects/${addr.id}/?match[version]=${encodeURIComponent(record.version)}`)).body.objects).toEqual([addr]);
    expect((await get(`${base}/objects/${addr.id}/?match[version]=first`)).body.objects).toEqual([addr]);
  });

  it('posted again are "already present": same version, same date_added, nothing changes', async () => {
    const addr = ipv4('203.0.113.10');
    const base = await collectionWith(addr, indicator());
    const before = (await get(`${base}/manifest/`)).body;
    const [record] = before.objects;
    const status = await postObjects(node, base, [addr]);
    expect(status).toMatchObject({ status: 'complete', total_count: 1, success_count: 1, failure_count: 0 });
    expect(status.successes).toEqual([{ id: addr.id, version: record.version, message: expect.stringMatching(/already present/) }]);
    expect((await get(`${base}/manifest/`)).body).toEqual(before);
    expect((await get(`${base}/objects/${addr.id}/versions/`)).body.versions).toEqual([record.date_added]);
  });

  it('are deleted like any other object', async () => {
    const addr = ipv4('203.0.113.11');
    const base = await collectionWith(addr);
    expect((await del(`${base}/objects/${addr.id}/`)).status).toBe(200);
    expectTaxiiError(await get(`${base}/objects/${addr.id}/`), 404);
  });
});

describe('match[type] and match[id] (§3.4.2)', () => {
  let base: string;
  let ind: StixObject[];
  let addrs: StixObject[];
  let versions: StixObject[];
  beforeAll(async () => {
    ind = [indicator(), indicator()];
    addrs = [ipv4('192.0.2.1'), ipv4('192.0.2.2')];
    versions = threeVersions();
    const malware: StixObject = {
      type: 'malware',
      spec_version: '2.1',
      id: `malware--${randomUUID()}`,
      created: V[0],
      modified: V[0],
      name: 'x',
      is_family: false,
    };
    base = await collectionWith(ind[0]!, addrs[0]!, versions[0]!, malware, versions[1]!, addrs[1]!, ind[1]!, versions[2]!);
  });

  const ids = (r: Reply) => (r.text === '{}' ? [] : r.body.objects.map((o: any) => o.id));

  it('a comma list of types is OR', async () => {
    const r = await get(`${base}/objects/?match[type]=ipv4-addr,indicator`);
    expect(ids(r)).toEqual([ind[0]!.id, addrs[0]!.id, addrs[1]!.id, ind[1]!.id, versions[0]!.id]);
    expect(ids(await get(`${base}/objects/?match[type]=ipv4-addr`))).toEqual([addrs[0]!.id, addrs[1]!.id]);
    expect((await get(`${base}/objects/?match[type]=tool`)).text).toBe('{}');
  });

  it('a comma list of ids is OR', async () => {
    const r = await get(`${base}/objects/?match[id]=${ind[1]!.id},${addrs[0]!.id}`);
    expect(ids(r)).toEqual([addrs[0]!.id, ind[1]!.id]);
  });

  it('different fields combine with AND', async () => {
    const typeAndId = await get(
      `${base}/objects/?match[type]=indicator,malware&match[id]=${ind[1]!.id},${addrs[0]!.id},${versions[0]!.id}`,
    );
    expect(ids(typeAndId)).toEqual([ind[1]!.id, versions[0]!.id]);

    const withVersion = await get(`${base}/objects/?match[type]=indicator&match[id]=${ind[0]!.id},${versions[0]!.id}&match[version]=all`);
    expect(withVersion.body.objects).toEqual([ind[0], versions[0], versions[1], versions[2]]);

    const exact = await get(`${base}/objects/?match[type]=indicator&match[version]=${V[1]}`);
    expect(exact.body.objects).toEqual([versions[1]]);

    const manifest = (await get(`${base}/manifest/?match[version]=all`)).body.objects;
    const afterThird = encodeURIComponent(manifest[2].date_added);
    const withAfter = await get(`${base}/objects/?match[type]=indicator,ipv4-addr&match[version]=all&added_after=${afterThird}`);
    expect(withAfter.body.objects).toEqual([versions[1], addrs[1], ind[1], versions[2]]);

    const disjoint = await get(`${base}/objects/?match[type]=malware&match[id]=${ind[0]!.id}`);
    expect(disjoint.text).toBe('{}');
  });

  it('the manifest applies the same filters', async () => {
    const r = await get(`${base}/manifest/?match[type]=indicator&match[id]=${versions[0]!.id}&match[version]=first,last`);
    expect(r.body.objects.map((o: any) => o.version)).toEqual([V[0], V[2]]);
  });
});
