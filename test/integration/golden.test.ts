import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, postObjects } from '../support/stix.ts';
import {
  ARRIVAL,
  IDS,
  VERSIONS,
  hashIndicator,
  malware20,
  malware21,
  marking,
  relationship,
  urlIndicator1,
  urlIndicator2,
  urlIndicator3,
} from '../fixtures/golden.ts';

// The OASIS reference server's golden values for its collection 91a7b528-… (5 objects; First
// 2014-05-08…, Last 2017-12-31…; with limit=3 a first page ending at 2017-01-20…) rebuilt on a
// fixture of the same shape. date_added is ours to assign, so the values become structural: the
// dates are those the manifest reports for the same objects.
//
// What the collection holds, in order of arrival (date_added):
//   1 relationship            2.1
//   2 hash indicator          2.1
//   3 url indicator v1        2.1
//   4 url indicator v2        2.1
//   5 marking definition      2.1  (no `modified`: versioned by `created`)
//   6 malware                 2.1  modified 2017-01-27
//   7 malware                 2.0  modified 2018-02-23 (later than the 2.1 copy)
//   8 url indicator v3        2.1
//
// Defaults (TAXII 2.1 §3.4.2): match[spec_version] keeps only each object's latest spec version
// (so the 2.0 malware drops out), then match[version]=last keeps each object's latest version:
// relationship, hash indicator, marking, malware 2.1, url indicator v3 = 5 objects.

let node: TestNode;
let base: string;
/** date_added by "id@version@spec", read from the manifest with every version of every spec. */
const added = new Map<string, string>();

const key = (o: Record<string, unknown>) =>
  `${o.id}@${(o.modified ?? o.created) as string}@${(o.spec_version as string | undefined) ?? '2.0'}`;
const dateOf = (o: Record<string, unknown>) => {
  const d = added.get(key(o));
  if (!d) throw new Error(`no date_added for ${key(o)}`);
  return d;
};

async function get(path: string): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await node.request(path);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  node = await startTestNode();
  ({ base } = await collectionWithClient(node));
  for (const object of ARRIVAL) {
    const status = await postObjects(node, base, [object]);
    expect(status).toMatchObject({ status: 'complete', success_count: 1, failure_count: 0 });
  }
  const all = await get(`${base}/manifest/?match[version]=all&match[spec_version]=2.0,2.1`);
  expect(all.body.objects).toHaveLength(8);
  for (const r of all.body.objects) {
    added.set(`${r.id}@${r.version}@${r.media_type.split('version=')[1]}`, r.date_added);
  }
});
afterAll(async () => node?.stop());

describe('the golden collection: defaults (match[version]=last, latest spec_version)', () => {
  it('GET objects returns the 5 current objects in date_added order, First/Last from the manifest', async () => {
    const r = await get(`${base}/objects/`);
    expect(r.status).toBe(200);
    expect(r.body.more).toBe(false);
    expect(r.body.next).toBeUndefined();
    expect(r.body.objects).toEqual([relationship, hashIndicator, marking, malware21, urlIndicator3]);
    // The reference's First 2014-05-08… is the relationship's date_added, its Last 2017-12-31…
    // the url indicator's third version.
    expect(r.headers.get('x-taxii-date-added-first')).toBe(dateOf(relationship));
    expect(r.headers.get('x-taxii-date-added-last')).toBe(dateOf(urlIndicator3));
  });

  it('with limit=3 pages 3 then 2; the first page ends at the third manifest record (the marking)', async () => {
    const manifest = await get(`${base}/manifest/`);
    const p1 = await get(`${base}/objects/?limit=3`);
    expect(p1.body.objects).toEqual([relationship, hashIndicator, marking]);
    expect(p1.body.more).toBe(true);
    expect(typeof p1.body.next).toBe('string');
    expect(p1.headers.get('x-taxii-date-added-first')).toBe(manifest.body.objects[0].date_added);
    expect(p1.headers.get('x-taxii-date-added-last')).toBe(manifest.body.objects[2].date_added);
    expect(p1.headers.get('x-taxii-date-added-last')).toBe(dateOf(marking));

    const p2 = await get(`${base}/objects/?limit=3&next=${encodeURIComponent(p1.body.next)}`);
    expect(p2.status).toBe(200);
    expect(p2.body.objects).toEqual([malware21, urlIndicator3]);
    expect(p2.body.more).toBe(false);
    expect(p2.body).not.toHaveProperty('next');
    expect(p2.headers.get('x-taxii-date-added-first')).toBe(dateOf(malware21));
    expect(p2.headers.get('x-taxii-date-added-last')).toBe(dateOf(urlIndicator3));
  });

  it('the manifest agrees with the objects: same ids, versions, order and date headers', async () => {
    const objects = await get(`${base}/objects/`);
    const manifest = await get(`${base}/manifest/`);
    expect(manifest.body.more).toBe(false);
    expect(manifest.body.objects).toEqual(
      objects.body.objects.map((o: any) => ({
        id: o.id,
        date_added: dateOf(o),
        version: o.modified ?? o.created,
        media_type: 'application/stix+json;version=2.1',
      })),
    );
    expect(manifest.headers.get('x-taxii-date-added-first')).toBe(objects.headers.get('x-taxii-date-added-first'));
    expect(manifest.headers.get('x-taxii-date-added-last')).toBe(objects.headers.get('x-taxii-date-added-last'));
    const dates = manifest.body.objects.map((r: any) => r.date_added);
    expect(dates).toEqual([...dates].sort());
    expect(new Set(dates).size).toBe(5);

    const m1 = await get(`${base}/manifest/?limit=3`);
    expect(m1.body.objects.map((r: any) => r.id)).toEqual([IDS.relationship, IDS.hashIndicator, IDS.marking]);
    expect(m1.body.more).toBe(true);
    const m2 = await get(`${base}/manifest/?limit=3&next=${encodeURIComponent(m1.body.next)}`);
    expect(m2.body.objects.map((r: any) => r.id)).toEqual([IDS.malware, IDS.urlIndicator]);
    expect(m2.body.more).toBe(false);
  });

  it('the default leaves out the STIX 2.0 malware even though its modified is later', async () => {
    const r = await get(`${base}/objects/?match[id]=${IDS.malware}`);
    expect(r.body.objects).toEqual([malware21]);
    const one = await get(`${base}/objects/${IDS.malware}/`);
    expect(one.body.objects).toEqual([malware21]);
  });
});

describe('the golden collection: match[version]', () => {
  it('all returns every version of the latest spec version: 7 (the 2.0 malware is not one)', async () => {
    const r = await get(`${base}/objects/?match[version]=all`);
    expect(r.body.objects).toEqual([relationship, hashIndicator, urlIndicator1, urlIndicator2, marking, malware21, urlIndicator3]);
    expect(r.body.more).toBe(false);
  });

  it('all with match[spec_version]=2.0,2.1 returns all 8 versions held, in arrival order', async () => {
    const r = await get(`${base}/objects/?match[version]=all&match[spec_version]=2.0,2.1`);
    expect(r.body.objects).toEqual(ARRIVAL);
  });

  it("first returns each object's oldest version: 5, with the url indicator's v1", async () => {
    const r = await get(`${base}/objects/?match[version]=first`);
    expect(r.body.objects).toEqual([relationship, hashIndicator, urlIndicator1, marking, malware21]);
    expect(r.headers.get('x-taxii-date-added-last')).toBe(dateOf(malware21));
  });

  it('an exact version returns the versions with that timestamp only', async () => {
    const v2 = await get(`${base}/objects/?match[version]=${VERSIONS.urlIndicator2}`);
    expect(v2.body.objects).toEqual([urlIndicator2]);
    // The relationship and the hash indicator share a modified timestamp.
    const shared = await get(`${base}/objects/?match[version]=2014-05-08T09:00:00.000Z`);
    expect(shared.body.objects).toEqual([relationship, hashIndicator]);
    // A timestamp is a time: the same instant written with six digits matches too.
    const sixDigits = await get(`${base}/objects/?match[version]=2016-12-25T12:30:59.444000Z`);
    expect(sixDigits.body.objects).toEqual([urlIndicator2]);
    // The marking has no modified: its created is its version.
    const mk = await get(`${base}/objects/?match[version]=${VERSIONS.marking}`);
    expect(mk.body.objects).toEqual([marking]);
  });

  it('an exact version held by nothing gives an empty page: {} with no date headers', async () => {
    const res = await node.request(`${base}/objects/?match[version]=2016-12-25T12:30:59.445Z`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{}');
    expect(res.headers.get('x-taxii-date-added-first')).toBeNull();
    expect(res.headers.get('x-taxii-date-added-last')).toBeNull();
  });

  it("the 2.0 malware's version is not selected by default spec_version, only with match[spec_version]=2.0", async () => {
    const byDefault = await get(`${base}/objects/?match[version]=${VERSIONS.malware20}`);
    expect(byDefault.body).toEqual({});
    const with20 = await get(`${base}/objects/?match[version]=${VERSIONS.malware20}&match[spec_version]=2.0`);
    expect(with20.body.objects).toEqual([malware20]);
  });

  it('comma lists are OR: first,last gives 6; two exact versions give those two', async () => {
    const fl = await get(`${base}/objects/?match[version]=first,last`);
    expect(fl.body.objects).toEqual([relationship, hashIndicator, urlIndicator1, marking, malware21, urlIndicator3]);
    const two = await get(`${base}/objects/?match[version]=${VERSIONS.urlIndicator1},${VERSIONS.urlIndicator3}`);
    expect(two.body.objects).toEqual([urlIndicator1, urlIndicator3]);
    const mixed = await get(`${base}/manifest/?match[version]=first,${VERSIONS.urlIndicator2}&match[id]=${IDS.urlIndicator}`);
    expect(mixed.body.objects.map((r: any) => r.version)).toEqual([VERSIONS.urlIndicator1, VERSIONS.urlIndicator2]);
  });
});

describe('the golden collection: match[spec_version], match[type], match[id]', () => {
  it('match[spec_version]=2.0 returns the 2.0 malware alone', async () => {
    const r = await get(`${base}/objects/?match[spec_version]=2.0`);
    expect(r.body.objects).toEqual([malware20]);
    expect(r.headers.get('x-taxii-date-added-first')).toBe(dateOf(malware20));
    const m = await get(`${base}/manifest/?match[spec_version]=2.0`);
    expect(m.body.objects).toEqual([
      { id: IDS.malware, date_added: dateOf(malware20), version: VERSIONS.malware20, media_type: 'application/stix+json;version=2.0' },
    ]);
  });

  it('match[spec_version]=2.1 gives what the default gives', async () => {
    const r = await get(`${base}/objects/?match[spec_version]=2.1`);
    expect(r.body.objects).toEqual([relationship, hashIndicator, marking, malware21, urlIndicator3]);
  });

  it("match[spec_version]=2.0,2.1 then last: the malware's latest version is the 2.0 one", async () => {
    const r = await get(`${base}/objects/?match[spec_version]=2.0,2.1`);
    expect(r.body.objects).toEqual([relationship, hashIndicator, marking, malware20, urlIndicator3]);
  });

  it('match[type] and match[id] comma lists are OR, and AND with each other', async () => {
    const types = await get(`${base}/objects/?match[type]=indicator,malware`);
    expect(types.body.objects).toEqual([hashIndicator, malware21, urlIndicator3]);
    const ids = await get(`${base}/objects/?match[id]=${IDS.relationship},${IDS.urlIndicator}`);
    expect(ids.body.objects).toEqual([relationship, urlIndicator3]);
    const both = await get(
      `${base}/objects/?match[type]=indicator,malware&match[id]=${IDS.relationship},${IDS.urlIndicator}&match[version]=all`,
    );
    expect(both.body.objects).toEqual([urlIndicator1, urlIndicator2, urlIndicator3]);
  });

  it('the object and versions endpoints apply the same spec_version rule', async () => {
    const versions = await get(`${base}/objects/${IDS.malware}/versions/`);
    expect(versions.body).toEqual({ more: false, versions: [VERSIONS.malware21] });
    const both = await get(`${base}/objects/${IDS.malware}/versions/?match[spec_version]=2.0,2.1`);
    expect(both.body.versions).toEqual([VERSIONS.malware21, VERSIONS.malware20]);
    const url = await get(`${base}/objects/${IDS.urlIndicator}/versions/`);
    expect(url.body.versions).toEqual([VERSIONS.urlIndicator1, VERSIONS.urlIndicator2, VERSIONS.urlIndicator3]);
    const obj20 = await get(`${base}/objects/${IDS.malware}/?match[spec_version]=2.0`);
    expect(obj20.body.objects).toEqual([malware20]);
  });
});
