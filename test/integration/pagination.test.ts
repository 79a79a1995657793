import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres, startTestNode, testDatabase } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, collectionWithClient, indicator, postObjects } from '../support/stix.ts';
import type { StixObject } from '../support/stix.ts';

// TAXII 2.1 §3.4 and the project's reference page ("Sorting, filtering, pagination"):
// ascending date_added, microsecond stamps, exact `more`, stateless `next`, strict and
// truncated `added_after`, a clamped `limit`, and 400 for every malformed parameter.

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const PAGE_SIZE_MAX = 5;

type Reply = { status: number; headers: Headers; text: string; body: any };

/** A GET as the admin, or as the client whose token is given. */
async function get(n: TestNode, path: string, token?: string): Promise<Reply> {
  const res = await n.request(path, token === undefined ? {} : { token });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
}

/** A timestamp as integer microseconds since the epoch, so tests can do exact arithmetic. */
function micros(ts: string): bigint {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/.exec(ts)!;
  const seconds = BigInt(Date.parse(`${m[1]}Z`) / 1000);
  return seconds * 1_000_000n + BigInt((m[2] ?? '').slice(0, 6).padEnd(6, '0'));
}

function fromMicros(us: bigint): string {
  const seconds = us / 1_000_000n;
  const frac = (us % 1_000_000n).toString().padStart(6, '0');
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${frac}Z`;
}

const q = (v: string) => encodeURIComponent(v);

/** Every item of a paginated list, following `next` (the node's PAGE_SIZE_MAX is small). */
async function all(n: TestNode, path: string, list = 'objects'): Promise<any[]> {
  const items: any[] = [];
  let next: string | undefined;
  for (let i = 0; i < 20; i++) {
    const r = await get(n, `${path}${path.includes('?') ? '&' : '?'}${next ? `next=${q(next)}` : ''}`);
    expect(r.status, path).toBe(200);
    if (r.text === '{}') break;
    items.push(...r.body[list]);
    next = r.body.next;
    if (!r.body.more) break;
  }
  return items;
}

function expectTaxiiError(r: Reply, status = 400): void {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toBe('application/taxii+json;version=2.1');
  expect(r.body).toMatchObject({ http_status: String(status) });
  expect(typeof r.body.title).toBe('string');
  expect(r.headers.get('x-taxii-date-added-first')).toBeNull();
}

let node: TestNode;
/** A collection holding SEVEN indicators, posted one request each, oldest first. */
let seven: { base: string; objects: StixObject[]; manifest: any[] };

beforeAll(async () => {
  node = await startTestNode({ PAGE_SIZE_MAX: String(PAGE_SIZE_MAX) });
  const { base } = await collectionWithClient(node);
  const objects = Array.from({ length: 7 }, (_, i) => indicator({ name: `indicator ${i}` }));
  for (const o of objects) await postObjects(node, base, [o]);
  // PAGE_SIZE_MAX is 5: the manifest of seven takes two pages.
  const manifest = await all(node, `${base}/manifest/`);
  expect(manifest).toHaveLength(7);
  seven = { base, objects, manifest };
});
afterAll(async () => node?.stop());

describe('order and date_added', () => {
  it('lists objects and manifest records ascending by date_added, in order of arrival', async () => {
    const { base, objects, manifest } = seven;
    expect(manifest.map((r: any) => r.id)).toEqual(objects.map((o) => o.id));
    expect(await all(node, `${base}/objects/`)).toEqual(objects);
  });

  it('gives date_added six fractional digits, strictly increasing and unique, also within one envelope', async () => {
    const { base } = await collectionWithClient(node);
    const batch = Array.from({ length: 4 }, () => indicator());
    await postObjects(node, base, batch);
    const manifest = (await get(node, `${base}/manifest/`)).body.objects;
    for (const list of [seven.manifest, manifest]) {
      const dates = list.map((r: any) => r.date_added);
      for (const d of dates) expect(d).toMatch(TIMESTAMP);
      for (let i = 1; i < dates.length; i++) expect(micros(dates[i]) > micros(dates[i - 1])).toBe(true);
      expect(new Set(dates).size).toBe(dates.length);
    }
    expect(manifest.map((r: any) => r.id)).toEqual(batch.map((o) => o.id));
  });

  it("sends X-TAXII-Date-Added-First/-Last as the first and last item's date_added, six digits", async () => {
    const r = await get(node, `${seven.base}/objects/?limit=3`);
    expect(r.headers.get('x-taxii-date-added-first')).toBe(seven.manifest[0].date_added);
    expect(r.headers.get('x-taxii-date-added-last')).toBe(seven.manifest[2].date_added);
    expect(r.headers.get('x-taxii-date-added-last')).toMatch(TIMESTAMP);
  });
});

describe('more and next', () => {
  it('says more=false with no next when the collection holds exactly `limit` objects', async () => {
    const { base } = await collectionWithClient(node);
    await postObjects(node, base, [indicator(), indicator(), indicator()]);
    const exact = await get(node, `${base}/objects/?limit=3`);
    expect(exact.body.objects).toHaveLength(3);
    expect(exact.body.more).toBe(false);
    expect(exact.body).not.toHaveProperty('next');
    const short = await get(node, `${base}/manifest/?limit=2`);
    expect(short.body.objects).toHaveLength(2);
    expect(short.body.more).toBe(true);
    const rest = await get(node, `${base}/manifest/?limit=2&next=${q(short.body.next)}`);
    expect(rest.body.objects).toHaveLength(1);
    expect(rest.body.more).toBe(false);
    expect(rest.body).not.toHaveProperty('next');
  });

  it('pages by next: 2+2+2+1, every object exactly once, in order', async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let next: string | undefined;
    for (let i = 0; i < 10; i++) {
      const r = await get(node, `${seven.base}/objects/?limit=2${next ? `&next=${q(next)}` : ''}`);
      expect(r.status).toBe(200);
      sizes.push(r.body.objects.length);
      seen.push(...r.body.objects.map((o: any) => o.id));
      expect(r.headers.get('x-taxii-date-added-first')).toBe(seven.manifest[seen.length - r.body.objects.length].date_added);
      expect(r.headers.get('x-taxii-date-added-last')).toBe(seven.manifest[seen.length - 1].date_added);
      expect(r.body.more).toBe(seen.length < 7);
      next = r.body.next;
      if (!r.body.more) break;
      expect(typeof next).toBe('string');
    }
    expect(next).toBeUndefined();
    expect(sizes).toEqual([2, 2, 2, 1]);
    expect(seen).toEqual(seven.objects.map((o) => o.id));
  });

  it('pages by added_after = the previous X-TAXII-Date-Added-Last: every object exactly once, then {}', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let empty: Reply | undefined;
    for (let i = 0; i < 10; i++) {
      const r = await get(node, `${seven.base}/objects/?limit=3${after ? `&added_after=${q(after)}` : ''}`);
      if (r.text === '{}') {
        empty = r;
        break;
      }
      seen.push(...r.body.objects.map((o: any) => o.id));
      after = r.headers.get('x-taxii-date-added-last');
      expect(after).toMatch(TIMESTAMP);
    }
    expect(seen).toEqual(seven.objects.map((o) => o.id));
    expect(empty).toBeDefined();
    expect(empty!.headers.get('x-taxii-date-added-first')).toBeNull();
    expect(empty!.headers.get('x-taxii-date-added-last')).toBeNull();
  });

  it('carries next on the manifest and on the versions endpoint too', async () => {
    const m1 = await get(node, `${seven.base}/manifest/?limit=4`);
    expect(m1.body.more).toBe(true);
    const m2 = await get(node, `${seven.base}/manifest/?limit=4&next=${q(m1.body.next)}`);
    expect([...m1.body.objects, ...m2.body.objects]).toEqual(seven.manifest);
    expect(m2.body.more).toBe(false);

    const { base } = await collectionWithClient(node);
    const v = ['2024-01-01T00:00:00.000Z', '2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z'];
    const first = indicator({ created: v[0] });
    for (const modified of v) await postObjects(node, base, [{ ...first, modified }]);
    const p1 = await get(node, `${base}/objects/${first.id}/versions/?limit=2`);
    expect(p1.body).toMatchObject({ more: true, versions: [v[0], v[1]] });
    expect(typeof p1.body.next).toBe('string');
    const p2 = await get(node, `${base}/objects/${first.id}/versions/?limit=2&next=${q(p1.body.next)}`);
    expect(p2.body).toEqual({ more: false, versions: [v[2]] });
    const o1 = await get(node, `${base}/objects/${first.id}/?match[version]=all&limit=2`);
    expect(o1.body.objects.map((o: any) => o.modified)).toEqual([v[0], v[1]]);
    const o2 = await get(node, `${base}/objects/${first.id}/?match[version]=all&limit=2&next=${q(o1.body.next)}`);
    expect(o2.body).toMatchObject({ more: false, objects: [{ modified: v[2] }] });
  });

  it('answers an empty page as {} without date headers on every paginated endpoint', async () => {
    const last = seven.manifest[6];
    const after = `added_after=${q(last.date_added)}`;
    for (const path of [
      `${seven.base}/objects/?${after}`,
      `${seven.base}/manifest/?${after}`,
      `${seven.base}/objects/${last.id}/?${after}`,
      `${seven.base}/objects/${last.id}/versions/?${after}`,
      `${seven.base}/objects/?match[type]=malware`,
    ]) {
      const r = await get(node, path);
      expect(r.status, path).toBe(200);
      expect(r.text, path).toBe('{}');
      expect(r.headers.get('x-taxii-date-added-first'), path).toBeNull();
      expect(r.headers.get('x-taxii-date-added-last'), path).toBeNull();
    }
  });
});

describe('added_after', () => {
  it('is strict: the object stamped exactly at added_after is not returned', async () => {
    const at = seven.manifest[3].date_added;
    const r = await get(node, `${seven.base}/manifest/?added_after=${q(at)}`);
    expect(r.body.objects).toEqual(seven.manifest.slice(4));
  });

  it('accepts 0 to 9 fractional digits and truncates to microseconds, never rounds', async () => {
    const target = seven.manifest[3];
    const d = micros(target.date_added);
    const text = fromMicros(d); // "…SS.ffffffZ"
    const secs = text.slice(0, 19);
    const frac = text.slice(20, 26);
    const before = fromMicros(d - 1n).slice(20, 26);
    const cases: [string, boolean][] = [
      // 7-9 digits after exactly this stamp: truncated to it, so not strictly after → excluded.
      [`${secs}.${frac}9Z`, false],
      [`${secs}.${frac}49Z`, false],
      [`${secs}.${frac}999Z`, false],
      // One microsecond earlier plus digits that would round up to the stamp: truncation keeps
      // it one microsecond earlier → included.
      [`${fromMicros(d - 1n).slice(0, 19)}.${before}9Z`, true],
      [`${fromMicros(d - 1n).slice(0, 19)}.${before}500Z`, true],
      [`${fromMicros(d - 1n).slice(0, 19)}.${before}Z`, true],
      [`${secs}.${frac}Z`, false],
    ];
    // 0-5 digits: a prefix of the stamp, included exactly when the cut-off digits are not all 0.
    for (let digits = 0; digits <= 5; digits++) {
      const cut = frac.slice(0, digits);
      cases.push([digits === 0 ? `${secs}Z` : `${secs}.${cut}Z`, Number(frac.slice(digits)) > 0]);
    }
    for (const [addedAfter, included] of cases) {
      const ids = (await all(node, `${seven.base}/manifest/?added_after=${q(addedAfter)}`)).map((o: any) => o.date_added);
      // Exactly the stamps strictly after added_after cut to microseconds.
      const expected = seven.manifest.map((o: any) => o.date_added).filter((x: string) => micros(x) > micros(addedAfter));
      expect(ids, addedAfter).toEqual(expected);
      expect(ids.includes(target.date_added), addedAfter).toBe(included);
    }
  });

  it('rejects an impossible or malformed added_after with 400', async () => {
    for (const bad of [
      '2021-02-30T00:00:00Z',
      'garbage',
      '2021-01-01',
      '2021-01-01T00:00:00',
      '2021-01-01T00:00:00.Z',
      '2021-13-01T00:00:00Z',
      '',
    ]) {
      expectTaxiiError(await get(node, `${seven.base}/objects/?added_after=${q(bad)}`));
    }
    expectTaxiiError(await get(node, `${seven.base}/manifest/?added_after=garbage`));
    expectTaxiiError(await get(node, `${seven.base}/objects/${seven.objects[0]!.id}/versions/?added_after=2021-02-30T00:00:00Z`));
  });
});

describe('limit', () => {
  it(`is clamped to PAGE_SIZE_MAX (${PAGE_SIZE_MAX}), which is also the default`, async () => {
    const big = await get(node, `${seven.base}/objects/?limit=1000`);
    expect(big.body.objects).toHaveLength(PAGE_SIZE_MAX);
    expect(big.body.more).toBe(true);
    const rest = await get(node, `${seven.base}/objects/?limit=1000&next=${q(big.body.next)}`);
    expect(rest.body.objects).toHaveLength(7 - PAGE_SIZE_MAX);
    expect(rest.body.more).toBe(false);
    const none = await get(node, `${seven.base}/manifest/`);
    expect(none.body.objects).toHaveLength(PAGE_SIZE_MAX);
    expect(none.body.more).toBe(true);
    for (const huge of ['2147483648', String(Number.MAX_SAFE_INTEGER)]) {
      const r = await get(node, `${seven.base}/manifest/?limit=${huge}`);
      expect(r.body.objects, huge).toHaveLength(PAGE_SIZE_MAX);
    }
  });

  it('rejects 0, negative, fractional and non-numeric limits with 400', async () => {
    for (const bad of ['0', '-1', '1.5', 'abc', '', '1e2', '0x10']) {
      expectTaxiiError(await get(node, `${seven.base}/objects/?limit=${q(bad)}`));
      expectTaxiiError(await get(node, `${seven.base}/manifest/?limit=${q(bad)}`));
    }
    expectTaxiiError(await get(node, `${seven.base}/objects/${seven.objects[0]!.id}/versions/?limit=0`));
  });
});

describe('malformed queries', () => {
  it('rejects a repeated key with 400 (comma lists are the way to ask for several)', async () => {
    expectTaxiiError(await get(node, `${seven.base}/objects/?match[type]=indicator&match[type]=malware`));
    expectTaxiiError(await get(node, `${seven.base}/manifest/?limit=1&limit=2`));
    const ok = await get(node, `${seven.base}/objects/?match[type]=indicator,malware`);
    expect(ok.status).toBe(200);
  });

  it('rejects a next token used with other filters, another endpoint or another collection', async () => {
    const p1 = await get(node, `${seven.base}/objects/?limit=2&match[type]=indicator`);
    const next = q(p1.body.next);
    const same = await get(node, `${seven.base}/objects/?limit=2&match[type]=indicator&next=${next}`);
    expect(same.status).toBe(200);
    expectTaxiiError(await get(node, `${seven.base}/objects/?limit=2&match[type]=malware&next=${next}`));
    expectTaxiiError(await get(node, `${seven.base}/objects/?limit=2&match[type]=indicator&match[version]=all&next=${next}`));
    expectTaxiiError(await get(node, `${seven.base}/manifest/?limit=2&match[type]=indicator&next=${next}`));
    const other = await collectionWithClient(node);
    await postObjects(node, other.base, [indicator()]);
    expectTaxiiError(await get(node, `${other.base}/objects/?limit=2&match[type]=indicator&next=${next}`));
  });

  it('follows a next token with or without the added_after it was issued under (Elastic drops it)', async () => {
    const all = (await get(node, `${seven.base}/objects/?match[version]=all`)).body.objects as { id: string }[];
    const after = '2000-01-01T00:00:00.000000Z';
    const p1 = await get(node, `${seven.base}/objects/?limit=2&added_after=${after}`);
    const next = q(p1.body.next);
    const withIt = await get(node, `${seven.base}/objects/?limit=2&added_after=${after}&next=${next}`);
    const without = await get(node, `${seven.base}/objects/?limit=2&next=${next}`);
    expect(withIt.status).toBe(200);
    expect(without.status).toBe(200);
    // Each token is sealed afresh (random salt): the pages are the same, their next tokens are not.
    expect({ ...without.body, next: 'x' }).toEqual({ ...withIt.body, next: 'x' });
    expect(p1.body.objects.length + withIt.body.objects.length).toBeLessThanOrEqual(all.length);
  });

  it('rejects a forged or garbled next with 400', async () => {
    const p1 = await get(node, `${seven.base}/objects/?limit=2`);
    const token: string = p1.body.next;
    const bytes = Buffer.from(token, 'base64url');
    const flipped = (i: number) => {
      const b = Buffer.from(bytes);
      b[i]! ^= 0x01;
      return b.toString('base64url');
    };
    // The readable, HMAC-signed form of earlier releases: refused, whatever it says.
    const legacy = `${Buffer.from(JSON.stringify({ p: '1970-01-01T00:00:00.000000Z', f: 'AAAAAAAAAAAAAAAA' })).toString('base64url')}.${'A'.repeat(43)}`;
    for (const bad of [
      flipped(0),
      flipped(1),
      flipped(20),
      flipped(bytes.length - 1),
      token.slice(0, -3),
      `${token}x`,
      `${token}.x`,
      'garbage',
      '!!!.???',
      legacy,
    ]) {
      expectTaxiiError(await get(node, `${seven.base}/objects/?limit=2&next=${q(bad)}`));
    }
  });

  it('gives a next token nobody can read: no JSON, no position, no filters', async () => {
    const p1 = await get(node, `${seven.base}/objects/?limit=2&match[type]=indicator`);
    const decoded = Buffer.from(p1.body.next, 'base64url').toString('latin1');
    expect(p1.body.next).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(() => JSON.parse(decoded)).toThrow();
    expect(decoded).not.toContain(p1.headers.get('x-taxii-date-added-last')!.slice(0, 19));
    expect(decoded).not.toContain('indicator');
  });

  it('rejects a next token used by anyone but the caller it was issued to, as a forged one', async () => {
    const reader = await collectionWithClient(node, { can_read: true, can_write: false });
    const other = await collectionWithClient(node, { can_read: true, can_write: false });
    await postObjects(node, reader.base, [indicator(), indicator(), indicator()]);
    // `other` may read the reader's collection too: only the token's recipient differs.
    await adminJson(node, 'PUT', `/admin/clients/${other.clientId}/grants/${reader.collectionId}`, { can_read: true, can_write: false });
    const page = `${reader.base}/objects/?limit=1`;
    const mine = await get(node, page, reader.token);
    const next = q(mine.body.next);
    expect((await get(node, `${page}&next=${next}`, reader.token)).status).toBe(200);
    const flipped = Buffer.from(mine.body.next, 'base64url');
    flipped[20]! ^= 0x01;
    const forged = await get(node, `${page}&next=${q(flipped.toString('base64url'))}`, other.token);
    for (const caller of [other.token, undefined]) {
      const r = await get(node, `${page}&next=${next}`, caller);
      expectTaxiiError(r);
      expect(r.body.description).toBe(forged.body.description);
    }
    const admins = q((await get(node, page)).body.next);
    expectTaxiiError(await get(node, `${page}&next=${admins}`, reader.token));
    expect((await get(node, `${page}&next=${admins}`)).status).toBe(200);
  });
});

describe('next survives restarts and replicas (stateless tokens)', () => {
  it('a token from one node works after a restart and on a second node on the same database', async () => {
    const db = await testDatabase();
    try {
      const a = await startTestNode({}, db);
      const { base } = await collectionWithClient(a);
      const objects = [indicator(), indicator(), indicator()];
      await postObjects(a, base, objects);
      const p1 = await get(a, `${base}/objects/?limit=1`);
      expect(p1.body.objects).toEqual([objects[0]]);
      const token = q(p1.body.next);

      // A replica: on PostgreSQL both run at once; PGlite is single-process, so one at a time.
      if (!onPostgres) await a.stop();
      const b = await startTestNode({}, db);
      try {
        const p2 = await get(b, `${base}/objects/?limit=1&next=${token}`);
        expect(p2.status).toBe(200);
        expect(p2.body.objects).toEqual([objects[1]]);
        if (onPostgres) {
          const again = await get(a, `${base}/objects/?limit=1&next=${q(p2.body.next)}`);
          expect(again.body).toEqual({ more: false, objects: [objects[2]] });
          await a.stop();
        }
      } finally {
        await b.stop();
      }

      // A restart: a fresh node on the same data still honours the first token.
      const c = await startTestNode({}, db);
      try {
        const p2 = await get(c, `${base}/objects/?limit=2&next=${token}`);
        expect(p2.body).toEqual({ more: false, objects: [objects[1], objects[2]] });
      } finally {
        await c.stop();
      }
    } finally {
      await db.drop();
    }
  });
});

describe('date_added is kept for a version already held', () => {
  it('re-posting the same version succeeds and changes nothing', async () => {
    const { base } = await collectionWithClient(node);
    const a = indicator();
    const b = indicator();
    await postObjects(node, base, [a, b]);
    const before = (await get(node, `${base}/manifest/`)).body;
    const status = await postObjects(node, base, [a]);
    expect(status).toMatchObject({ status: 'complete', total_count: 1, success_count: 1, failure_count: 0, pending_count: 0 });
    expect(status.successes).toEqual([{ id: a.id, version: a.modified, message: expect.stringMatching(/already present/) }]);
    const after = (await get(node, `${base}/manifest/`)).body;
    expect(after).toEqual(before);
    // Still first: a poller that had read past it never sees it again.
    const polled = await get(node, `${base}/objects/?added_after=${q(before.objects[1].date_added)}`);
    expect(polled.text).toBe('{}');
  });

  it('a new version gets a later date_added; the old version keeps its own', async () => {
    const { base } = await collectionWithClient(node);
    const v1 = indicator({ created: '2024-01-01T00:00:00.000Z' });
    const other = indicator();
    await postObjects(node, base, [v1, other]);
    const before = (await get(node, `${base}/manifest/?match[version]=all`)).body.objects;
    const v2 = { ...v1, modified: '2024-06-01T00:00:00.000Z', name: 'renamed' };
    const status = await postObjects(node, base, [v2]);
    expect(status.successes).toEqual([{ id: v1.id, version: v2.modified, message: expect.not.stringMatching(/already present/) }]);
    const after = (await get(node, `${base}/manifest/?match[version]=all`)).body.objects;
    expect(after.slice(0, 2)).toEqual(before);
    expect(after[2]).toMatchObject({ id: v1.id, version: v2.modified });
    expect(micros(after[2].date_added) > micros(before[1].date_added)).toBe(true);
    const latest = await get(node, `${base}/objects/?added_after=${q(before[1].date_added)}`);
    expect(latest.body.objects).toEqual([v2]);
  });
});
