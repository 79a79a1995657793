import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { pinnedPeer, requestAs } from '../support/peer.ts';
import type { Caller, Peer } from '../support/peer.ts';
import { adminJson, indicator, postObjects } from '../support/stix.ts';
import type { StixObject } from '../support/stix.ts';
import { OPENCTI_AMBER_STRICT, TLP1, TLP2, TLP2_EXTENSION } from '../fixtures/tlp-ids.ts';
import { relationship as indicates } from '../support/bundles.ts';

// shared/reference/tlp.md through HTTP: who gets which level, on every path out (objects,
// object, manifest, versions, their date headers, `more`, paging by next and by added_after,
// DELETE's existence check, status), and the audit of AMBER+ deliveries.

const markingsBundle = JSON.parse(readFileSync(new URL('../fixtures/stix/tlp-markings.json', import.meta.url), 'utf8')) as {
  objects: StixObject[];
};
const markingById = new Map(markingsBundle.objects.map((o) => [o.id, o]));

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => node?.stop());

// ---- helpers ----------------------------------------------------------------------------

type Client = { id: string; token: string; name: string };
type Policy = { clearance?: string; own_org?: boolean };

async function newCollection(policy: Record<string, unknown> = {}): Promise<{ id: string; base: string }> {
  const c = await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: `tlp ${randomUUID()}`, ...policy });
  return { id: c.id, base: `/default/collections/${c.id}` };
}

async function newClient(collectionIds: string[], policy: Policy = {}): Promise<Client> {
  const name = `tlp-${randomUUID().slice(0, 8)}`;
  const grants = collectionIds.map((collection_id) => ({ collection_id, can_read: true, can_write: true }));
  const c = await adminJson(node, 'POST', '/admin/clients', { name, grants, ...policy });
  return { id: c.id, token: c.token, name };
}

const marked = (refs: string[], over: Partial<StixObject> = {}) => indicator({ object_marking_refs: refs, ...over });

type Got = { status: number; body: any; first: string | null; last: string | null };

/** A GET as `token` (the admin when undefined, no credentials when null), or signed by a peer. */
async function get(path: string, token?: Caller): Promise<Got> {
  const res = await requestAs(node, path, token);
  const text = await res.text();
  return {
    status: res.status,
    body: text ? JSON.parse(text) : undefined,
    first: res.headers.get('x-taxii-date-added-first'),
    last: res.headers.get('x-taxii-date-added-last'),
  };
}

async function del(path: string, token?: Caller): Promise<number> {
  const res = await requestAs(node, path, token, { method: 'DELETE' });
  await res.body?.cancel();
  return res.status;
}

const idsOf = (body: any): string[] => (body?.objects ?? []).map((o: { id: string }) => o.id);

type ManifestRecord = { id: string; date_added: string; version: string; media_type: string };

/** The admin's manifest: everything held, latest versions unless `query` says otherwise, in date order. */
async function adminManifest(base: string, query = ''): Promise<ManifestRecord[]> {
  const r = await get(`${base}/manifest/?limit=1000${query}`);
  expect(r.status).toBe(200);
  return r.body.objects ?? [];
}

/** A 404 for a withheld id must read like the 404 for an id never seen. */
async function expectLikeUnknown(path: (id: string) => string, id: string, token: Caller): Promise<void> {
  const unknownId = `indicator--${randomUUID()}`;
  const hidden = await get(path(id), token);
  const unknown = await get(path(unknownId), token);
  expect(hidden.status, path(id)).toBe(404);
  expect(unknown.status).toBe(404);
  expect(hidden.first).toBeNull();
  expect({ ...hidden.body, description: hidden.body.description.replace(id, '<id>') }).toEqual({
    ...unknown.body,
    description: unknown.body.description.replace(unknownId, '<id>'),
  });
}

/** Walks a listing page by page (limit 1) with `next`, or with added_after set to the last page's X-TAXII-Date-Added-Last. */
async function walk(base: string, endpoint: 'objects' | 'manifest', token: Caller, by: 'next' | 'added_after'): Promise<string[]> {
  const seen: string[] = [];
  let query = '';
  for (let i = 0; i < 100; i++) {
    const r = await get(`${base}/${endpoint}/?limit=1${query}`, token);
    expect(r.status).toBe(200);
    if (!r.body.objects) {
      // Only an added_after walk may end on an empty page, and only when the last page said more: false.
      expect(by === 'added_after' || i === 0).toBe(true);
      expect(r.first).toBeNull();
      return seen;
    }
    expect(r.body.objects).toHaveLength(1);
    const record = r.body.objects[0];
    seen.push(record.id);
    expect(r.first).toBe(r.last);
    if (endpoint === 'manifest') expect(r.first).toBe(record.date_added);
    if (!r.body.more) {
      expect(r.body.next).toBeUndefined();
      return seen;
    }
    if (by === 'next') {
      expect(typeof r.body.next).toBe('string');
      query = `&next=${encodeURIComponent(r.body.next)}`;
    } else {
      query = `&added_after=${encodeURIComponent(r.last!)}`;
    }
  }
  throw new Error('walk did not end');
}

/**
 * Checks, on every read path, that `token` gets exactly the objects of `visible` (single-version
 * objects) and that every other object of the collection is absent and answers 404.
 */
async function expectServes(base: string, token: Caller, visible: Iterable<string>): Promise<void> {
  const want = new Set(visible);
  const all = await adminManifest(base);
  const shown = all.filter((m) => want.has(m.id));
  expect(shown.map((m) => m.id).sort()).toEqual([...want].sort());
  const ids = shown.map((m) => m.id);

  // objects and manifest: the same set, in date order, with the date headers of what is shown.
  for (const endpoint of ['objects', 'manifest'] as const) {
    const r = await get(`${base}/${endpoint}/`, token);
    expect(r.status, endpoint).toBe(200);
    if (shown.length === 0) {
      expect(r.body).toEqual({});
      expect(r.first).toBeNull();
      expect(r.last).toBeNull();
      continue;
    }
    expect(r.body.more).toBe(false);
    expect(r.body.next).toBeUndefined();
    expect(idsOf(r.body), endpoint).toEqual(ids);
    if (endpoint === 'manifest') expect(r.body.objects).toEqual(shown);
    expect(r.first).toBe(shown[0]!.date_added);
    expect(r.last).toBe(shown.at(-1)!.date_added);
  }
  // Paging: nothing withheld is counted in `more`, whichever way the client pages.
  expect(await walk(base, 'objects', token, 'next')).toEqual(ids);
  expect(await walk(base, 'manifest', token, 'next')).toEqual(ids);
  expect(await walk(base, 'objects', token, 'added_after')).toEqual(ids);

  // object and versions, one by one.
  for (const m of all) {
    const object = await get(`${base}/objects/${m.id}/`, token);
    const versions = await get(`${base}/objects/${m.id}/versions/`, token);
    if (want.has(m.id)) {
      expect(object.status, m.id).toBe(200);
      expect(idsOf(object.body)).toEqual([m.id]);
      expect([object.first, object.last]).toEqual([m.date_added, m.date_added]);
      expect(versions.status).toBe(200);
      expect(versions.body).toEqual({ more: false, versions: [m.version] });
      expect([versions.first, versions.last]).toEqual([m.date_added, m.date_added]);
    } else {
      expect(object.status, m.id).toBe(404);
      expect(object.first).toBeNull();
      expect(versions.status, m.id).toBe(404);
      expect(versions.first).toBeNull();
    }
  }
}

async function expectComplete(status: any, successes: number, failures = 0): Promise<void> {
  expect(status).toMatchObject({ status: 'complete', success_count: successes, failure_count: failures, pending_count: 0 });
}

// ---- the levels, client by client --------------------------------------------------------

describe('each clearance gets exactly the levels tlp.md allows, on every read path', () => {
  let col: { id: string; base: string };
  const o = {} as Record<
    'clear' | 'clear2' | 'green' | 'amber' | 'unmarked' | 'strict' | 'strictOcti' | 'red' | 'red2' | 'granularRed',
    StixObject
  >;
  const shipped = [TLP2_EXTENSION, TLP2.clear, TLP2.amberStrict, TLP2.red];
  let levels: Record<'CLEAR' | 'GREEN' | 'AMBER' | 'AMBER+STRICT' | 'RED', string[]>;
  const c = {} as Record<'clear' | 'green' | 'amber' | 'amberOwnOrg' | 'strictNoOrg' | 'strict' | 'redGreen' | 'redAll', Client>;

  beforeAll(async () => {
    col = await newCollection();
    const other = await newCollection();
    o.clear = marked([TLP1.white]);
    o.clear2 = marked([TLP2.clear]);
    o.green = marked([TLP1.green]);
    o.amber = marked([TLP1.amber]);
    o.unmarked = indicator();
    o.strict = marked([TLP2.amberStrict]);
    o.strictOcti = marked([OPENCTI_AMBER_STRICT]);
    o.red = marked([TLP1.red]);
    o.red2 = marked([TLP2.red]);
    o.granularRed = marked([TLP1.green], { granular_markings: [{ marking_ref: TLP1.red, selectors: ['pattern'] }] });
    await expectComplete(await postObjects(node, col.base, Object.values(o)), 10);
    levels = {
      CLEAR: [...shipped, o.clear.id, o.clear2.id],
      GREEN: [o.green.id],
      AMBER: [o.amber.id, o.unmarked.id],
      'AMBER+STRICT': [o.strict.id, o.strictOcti.id],
      RED: [o.red.id, o.red2.id, o.granularRed.id],
    };
    const g = [col.id, other.id];
    c.clear = await newClient(g);
    c.green = await newClient(g, { clearance: 'GREEN' });
    c.amber = await newClient(g, { clearance: 'AMBER' });
    c.amberOwnOrg = await newClient(g, { clearance: 'AMBER', own_org: true });
    c.strictNoOrg = await newClient(g, { clearance: 'AMBER+STRICT' });
    c.strict = await newClient(g, { clearance: 'AMBER+STRICT', own_org: true });
    c.redGreen = await newClient(g, { clearance: 'GREEN' });
    c.redAll = await newClient(g, { clearance: 'AMBER+STRICT', own_org: true });
    await adminJson(node, 'PUT', `/admin/collections/${col.id}/red-recipients/${c.redGreen.id}`);
    const named = await adminJson(node, 'PUT', `/admin/collections/${col.id}/red-recipients/${c.redAll.id}`);
    expect(JSON.stringify(named.red_recipients)).toContain(c.redAll.id);
    // A RED recipient of another collection is no RED recipient here.
    await adminJson(node, 'PUT', `/admin/collections/${other.id}/red-recipients/${c.amber.id}`);
  });

  const upTo = (...names: (keyof typeof levels)[]) => names.flatMap((n) => levels[n]);

  it('ships the TLP 2.0 definitions and stores every object at its level', async () => {
    expect((await adminManifest(col.base)).map((m) => m.id)).toEqual([
      TLP2_EXTENSION,
      ...shipped.slice(1).sort(),
      ...Object.values(o).map((x) => x.id),
    ]);
  });

  it('defaults a new client to CLEAR', async () => {
    const client = await adminJson(node, 'GET', `/admin/clients/${c.clear.id}`);
    expect(client).toMatchObject({ kind: 'client', clearance: 'CLEAR', own_org: false, peer_amber: false });
    await expectServes(col.base, c.clear.token, upTo('CLEAR'));
  });

  it('serves GREEN to clearance GREEN', async () => {
    await expectServes(col.base, c.green.token, upTo('CLEAR', 'GREEN'));
  });

  it('serves AMBER and unmarked (collection default AMBER) to clearance AMBER, RED recipient elsewhere or not', async () => {
    await expectServes(col.base, c.amber.token, upTo('CLEAR', 'GREEN', 'AMBER'));
  });

  it('serves no AMBER+STRICT to clearance AMBER, even in the own organisation', async () => {
    await expectServes(col.base, c.amberOwnOrg.token, upTo('CLEAR', 'GREEN', 'AMBER'));
  });

  it('serves no AMBER+STRICT to clearance AMBER+STRICT outside the own organisation', async () => {
    await expectServes(col.base, c.strictNoOrg.token, upTo('CLEAR', 'GREEN', 'AMBER'));
  });

  it('serves AMBER+STRICT (TLP 2.0 and OpenCTI ids) to clearance AMBER+STRICT in the own organisation, but no RED', async () => {
    await expectServes(col.base, c.strict.token, upTo('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT'));
  });

  it('serves RED (TLP 1.0, TLP 2.0, and by a granular marking) to named recipients only, on top of their clearance', async () => {
    await expectServes(col.base, c.redGreen.token, upTo('CLEAR', 'GREEN', 'RED'));
    await expectServes(col.base, c.redAll.token, upTo('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'));
  });

  it('takes RED away when the recipient is no longer named', async () => {
    const after = await adminJson(node, 'DELETE', `/admin/collections/${col.id}/red-recipients/${c.redGreen.id}`);
    expect(JSON.stringify(after.red_recipients)).not.toContain(c.redGreen.id);
    await expectServes(col.base, c.redGreen.token, upTo('CLEAR', 'GREEN'));
  });

  it('serves the admin everything', async () => {
    await expectServes(col.base, undefined, upTo('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'));
  });

  it('answers 404 for a withheld id exactly as for an unknown one: object, versions and DELETE', async () => {
    for (const [client, hidden] of [
      [c.clear, o.green],
      [c.green, o.unmarked],
      [c.strictNoOrg, o.strictOcti],
      [c.strict, o.granularRed],
    ] as const) {
      await expectLikeUnknown((id) => `${col.base}/objects/${id}/`, hidden.id, client.token);
      await expectLikeUnknown((id) => `${col.base}/objects/${id}/?match[version]=all`, hidden.id, client.token);
      await expectLikeUnknown((id) => `${col.base}/objects/${id}/versions/`, hidden.id, client.token);
      expect(await del(`${col.base}/objects/${hidden.id}/`, client.token)).toBe(404);
      expect(await del(`${col.base}/objects/indicator--${randomUUID()}/`, client.token)).toBe(404);
      // Still there for those who may see it.
      expect((await get(`${col.base}/objects/${hidden.id}/`)).status).toBe(200);
    }
  });

  it('keeps withheld objects out of match[id] and match[type] filters', async () => {
    const r = await get(`${col.base}/objects/?match[id]=${o.green.id},${o.amber.id},${o.red.id}`, c.green.token);
    expect(idsOf(r.body)).toEqual([o.green.id]);
    expect([r.first, r.last]).toEqual([
      (await get(`${col.base}/objects/${o.green.id}/`)).first,
      (await get(`${col.base}/objects/${o.green.id}/`)).last,
    ]);
    const t = await get(`${col.base}/manifest/?match[type]=indicator`, c.clear.token);
    expect(idsOf(t.body)).toEqual([o.clear.id, o.clear2.id]);
  });

  it('shows a status to the client that posted and the admin only', async () => {
    const mine = await postObjects(node, col.base, [marked([TLP1.red])], c.green.token);
    await expectComplete(mine, 1);
    expect((await get(`/default/status/${mine.id}/`, c.green.token)).status).toBe(200);
    expect((await get(`/default/status/${mine.id}/`, c.amber.token)).status).toBe(404);
    expect((await get(`/default/status/${mine.id}/`)).status).toBe(200);
    const admins = await postObjects(node, col.base, [marked([TLP1.red])]);
    expect((await get(`/default/status/${admins.id}/`, c.redAll.token)).status).toBe(404);
    expect((await get(`/default/status/${admins.id}/`, null)).status).toBe(401);
  });
});

// ---- versions --------------------------------------------------------------------------

describe('the strictest version of an id raises its older versions', () => {
  let col: { id: string; base: string };
  let green: Client;
  let redGreen: Client;
  const x1 = indicator({ object_marking_refs: [TLP1.green], created: '2024-01-01T00:00:00.000Z' });
  const x2 = { ...x1, modified: '2024-02-01T00:00:00.000Z', object_marking_refs: [TLP1.red] };
  const z1 = indicator({ object_marking_refs: [TLP1.red], created: '2024-01-01T00:00:00.000Z' });
  const z2 = { ...z1, modified: '2024-02-01T00:00:00.000Z', object_marking_refs: [TLP1.green] };
  const y = marked([TLP1.green]);

  beforeAll(async () => {
    col = await newCollection();
    green = await newClient([col.id], { clearance: 'GREEN' });
    redGreen = await newClient([col.id], { clearance: 'GREEN' });
    await adminJson(node, 'PUT', `/admin/collections/${col.id}/red-recipients/${redGreen.id}`);
    await expectComplete(await postObjects(node, col.base, [x1, y, z1]), 3);
    await expectComplete(await postObjects(node, col.base, [x2, z2]), 2);
  });

  it('withholds both versions from a GREEN client on every path, match[version]=all included', async () => {
    for (const q of ['', '?match[version]=all', '?match[version]=first', `?match[version]=${x1.modified}`]) {
      for (const endpoint of ['objects', 'manifest']) {
        const r = await get(`${col.base}/${endpoint}/${q}`, green.token);
        expect(idsOf(r.body), `${endpoint}${q}`).toEqual([y.id]);
      }
      await expectLikeUnknown((id) => `${col.base}/objects/${id}/${q}`, x1.id, green.token);
      await expectLikeUnknown((id) => `${col.base}/objects/${id}/${q}`, z1.id, green.token);
    }
    await expectLikeUnknown((id) => `${col.base}/objects/${id}/versions/`, x1.id, green.token);
    await expectLikeUnknown((id) => `${col.base}/objects/${id}/versions/`, z1.id, green.token);
    expect(await del(`${col.base}/objects/${x1.id}/?match[version]=${x1.modified}`, green.token)).toBe(404);
    expect((await get(`${col.base}/objects/${x1.id}/versions/`)).body.versions).toEqual([x1.modified, x2.modified]);
  });

  it('serves both versions to a RED recipient', async () => {
    const r = await get(`${col.base}/objects/${x1.id}/versions/`, redGreen.token);
    expect(r.body).toEqual({ more: false, versions: [x1.modified, x2.modified] });
    const all = await get(`${col.base}/objects/${x1.id}/?match[version]=all`, redGreen.token);
    expect(all.body.objects).toEqual([x1, x2]);
  });

  it('keeps the stricter level after the stricter version is deleted', async () => {
    expect(await del(`${col.base}/objects/${x1.id}/?match[version]=${x2.modified}`)).toBe(200);
    expect((await get(`${col.base}/objects/${x1.id}/versions/`)).body.versions).toEqual([x1.modified]);
    await expectLikeUnknown((id) => `${col.base}/objects/${id}/`, x1.id, green.token);
  });

  it('raises nothing for a stricter copy of a version already held, or repeated in one request: it is refused, not stored', async () => {
    const held = marked([TLP1.green]);
    await expectComplete(await postObjects(node, col.base, [held]), 1);
    const again = await postObjects(node, col.base, [{ ...held, object_marking_refs: [TLP1.red] }]);
    expect(again.failures).toEqual([
      {
        id: held.id,
        version: held.modified,
        message: expect.stringMatching(
          /^objects\[0\]: another object is already stored under this id and version, with other content: nothing changed/,
        ),
      },
    ]);
    const twice = marked([TLP1.green]);
    const s = await postObjects(node, col.base, [twice, { ...twice, object_marking_refs: [TLP1.red] }]);
    expect(s.successes.map((d: any) => d.message)).toEqual(['added']);
    expect(s.failures.map((d: any) => d.message)).toEqual([
      expect.stringMatching(/^objects\[1\]: same id and version as objects\[0\] of this request, with other content/),
    ]);
    for (const o of [held, twice]) {
      const r = await get(`${col.base}/objects/${o.id}/`, green.token);
      expect(r.status).toBe(200);
      expect(r.body.objects).toEqual([o]);
    }
    // A genuinely new, stricter version still raises the held one.
    await expectComplete(
      await postObjects(node, col.base, [{ ...held, modified: '2024-03-01T00:00:00.000Z', object_marking_refs: [TLP1.red] }]),
      1,
    );
    await expectLikeUnknown((id) => `${col.base}/objects/${id}/`, held.id, green.token);
  });

  it('lets a client delete what it may see', async () => {
    expect(await del(`${col.base}/objects/${y.id}/`, green.token)).toBe(200);
    expect((await get(`${col.base}/objects/${y.id}/`)).status).toBe(404);
  });
});

// ---- the collection default ------------------------------------------------------------

describe('unmarked objects take the collection default level', () => {
  let col: { id: string; base: string };
  let clear: Client;
  let green: Client;
  let amber: Client;
  const statement = {
    type: 'marking-definition',
    spec_version: '2.1',
    id: `marking-definition--${randomUUID()}`,
    created: '2024-01-01T00:00:00.000Z',
    definition_type: 'statement',
    definition: { statement: 'Copyright 2024 Example Corp' },
  };
  const u1 = indicator();
  const withStatement = marked([statement.id]);
  const u2 = indicator();

  beforeAll(async () => {
    col = await newCollection();
    clear = await newClient([col.id]);
    green = await newClient([col.id], { clearance: 'GREEN' });
    amber = await newClient([col.id], { clearance: 'AMBER' });
    await expectComplete(await postObjects(node, col.base, [u1, statement, withStatement]), 3);
  });

  it('is AMBER unless set; unmarked marking definitions are CLEAR; a statement does not loosen it', async () => {
    expect((await adminJson(node, 'GET', `/admin/collections/${col.id}`)).default_level).toBe('AMBER');
    await expectServes(col.base, clear.token, [statement.id]);
    await expectServes(col.base, green.token, [statement.id]);
    await expectServes(col.base, amber.token, [u1.id, statement.id, withStatement.id]);
  });

  it('applies a default set to GREEN by PATCH to objects posted after', async () => {
    const patched = await adminJson(node, 'PATCH', `/admin/collections/${col.id}`, { default_level: 'GREEN' });
    expect(patched.default_level).toBe('GREEN');
    await expectComplete(await postObjects(node, col.base, [u2]), 1);
    await expectServes(col.base, green.token, [statement.id, u2.id]);
    await expectServes(col.base, clear.token, [statement.id]);
    await expectServes(col.base, amber.token, [u1.id, statement.id, withStatement.id, u2.id]);
  });
});

// ---- denied: unknown TLP-like and unresolvable markings ------------------------------------

describe('an unknown TLP-like or unresolvable marking: stored, served to nobody but the admin', () => {
  let col: { id: string; base: string };
  let everything: Client;
  const missing = `marking-definition--${randomUUID()}`;
  const tlp2Like = {
    type: 'marking-definition',
    spec_version: '2.1',
    id: `marking-definition--${randomUUID()}`,
    created: '2022-10-01T00:00:00.000Z',
    name: 'TLP:GREEN',
    extensions: { [TLP2_EXTENSION]: { extension_type: 'property-extension', tlp_2_0: 'green' } },
  };
  const purple = {
    type: 'marking-definition',
    spec_version: '2.1',
    id: `marking-definition--${randomUUID()}`,
    created: '2024-01-01T00:00:00.000Z',
    name: 'TLP:PURPLE',
    definition_type: 'statement',
    definition: { statement: 'TLP:PURPLE' },
  };
  const d1 = marked([missing]);
  const d2 = marked([tlp2Like.id]);
  const d3 = marked([purple.id]);
  const d4 = marked([TLP1.white], { granular_markings: [{ marking_ref: purple.id, selectors: ['name'] }] });
  const ok = marked([TLP1.white]);
  const statuses: any[] = [];

  beforeAll(async () => {
    col = await newCollection({ default_level: 'CLEAR' });
    everything = await newClient([col.id], { clearance: 'AMBER+STRICT', own_org: true });
    await adminJson(node, 'PUT', `/admin/collections/${col.id}/red-recipients/${everything.id}`);
    statuses.push(await postObjects(node, col.base, [d1]));
    statuses.push(await postObjects(node, col.base, [tlp2Like, d2]));
    statuses.push(await postObjects(node, col.base, [purple, ok]));
    statuses.push(await postObjects(node, col.base, [d3, d4]));
  });

  it('says in the status that the object was stored and why it is withheld', async () => {
    const success = (i: number, id: string) => statuses[i].successes.find((s: any) => s.id === id);
    expect(success(0, d1.id).message).toBe(
      `added; withheld until marking-definition ${missing} is known: no such marking-definition in this request or this collection yet`,
    );
    expect(success(1, d2.id).message).toMatch(/^added; withheld from every recipient: /);
    expect(success(1, d2.id).message).toContain(tlp2Like.id);
    expect(success(1, d2.id).message).toMatch(/not a known TLP marking/);
    expect(success(3, d3.id).message).toContain(purple.id);
    expect(success(3, d4.id).message).toContain(purple.id);
    expect(success(2, ok.id).message).toBe('added');
    expect(success(1, tlp2Like.id).message).toBe('added');
  });

  it('rejects a definition_type "tlp" marking with an unknown id (the validator)', async () => {
    const bad = {
      ...purple,
      id: `marking-definition--${randomUUID()}`,
      name: 'TLP:GREEN',
      definition_type: 'tlp',
      definition: { tlp: 'green' },
    };
    const s = await postObjects(node, col.base, [bad]);
    await expectComplete(s, 0, 1);
    expect(s.failures[0].message).toMatch(/predefined TLP:GREEN/);
  });

  it('serves them to nobody, not even a RED recipient with every clearance; the marking definitions themselves are CLEAR', async () => {
    await expectServes(col.base, everything.token, [tlp2Like.id, purple.id, ok.id]);
    for (const d of [d1, d2, d3, d4]) {
      await expectLikeUnknown((id) => `${col.base}/objects/${id}/`, d.id, everything.token);
      expect(await del(`${col.base}/objects/${d.id}/`, everything.token)).toBe(404);
    }
  });

  it('serves them to the admin', async () => {
    const r = await get(`${col.base}/objects/?match[type]=indicator`);
    expect(idsOf(r.body)).toEqual([d1.id, d2.id, ok.id, d3.id, d4.id]);
  });

  it('lists them, with why, under GET /admin/collections/:id/denied', async () => {
    const denied = await adminJson(node, 'GET', `/admin/collections/${col.id}/denied`);
    expect(denied.objects.map((d: any) => d.id)).toEqual([d1.id, d2.id, d3.id, d4.id]);
    expect(denied.objects[0]).toMatchObject({ cause: 'unresolved-marking', waiting_for: [missing] });
    expect(denied.objects[0].reason).toContain(missing);
    expect(denied.objects.slice(1).map((d: any) => d.cause)).toEqual(['unknown-tlp-marking', 'unknown-tlp-marking', 'unknown-tlp-marking']);
    expect(denied.objects[1].reason).toContain(tlp2Like.id);
    expect(denied.waiting).toEqual([{ marking_definition: missing, objects: 1 }]);
    expect(denied.truncated).toBe(false);
    expect(denied.objects[2]).toMatchObject({ version: d3.modified });
    expect(denied.objects[2].date_added).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    const other = await newCollection();
    expect(await adminJson(node, 'GET', `/admin/collections/${other.id}/denied`)).toEqual({ objects: [], waiting: [], truncated: false });
    expect((await node.request(`/admin/collections/${randomUUID()}/denied`, { headers: { accept: 'application/json' } })).status).toBe(404);
  });

  it('withholds a relationship that points at a denied object', async () => {
    const rel = relationship(ok.id, d1.id, [TLP1.white]);
    await expectComplete(await postObjects(node, col.base, [rel]), 1);
    await expectLikeUnknown((id) => `${col.base}/objects/${id}/`, rel.id, everything.token);
  });
});

// ---- references --------------------------------------------------------------------------

const relationship = (source: string, target: string, markings: string[]): StixObject =>
  indicates(source, target, { object_marking_refs: markings });

function common(type: string, markings: string[], over: Record<string, unknown>): StixObject {
  return {
    type,
    spec_version: '2.1',
    id: `${type}--${randomUUID()}`,
    created: '2024-01-01T00:00:00.000Z',
    modified: '2024-01-01T00:00:00.000Z',
    object_marking_refs: markings,
    ...over,
  };
}

describe('references leak ids: links and containers pointing at hidden objects are withheld', () => {
  let col: { id: string; base: string };
  let green: Client;
  let amber: Client;
  const G = [TLP1.green];
  const visible = marked(G);
  const visible2 = marked(G);
  const hidden = marked([TLP1.amber]);
  const place = common('identity', G, { name: 'Hospital A' });
  const hiddenPlace = common('identity', [TLP1.amber], { name: 'Hospital B' });
  const outside = `malware--${randomUUID()}`;
  const r = {
    relHidden: relationship(visible.id, hidden.id, G),
    relHiddenSource: relationship(hidden.id, visible.id, G),
    relVisible: relationship(visible.id, visible2.id, G),
    relOutside: relationship(visible.id, outside, G),
    sightingOfHidden: common('sighting', G, { sighting_of_ref: hidden.id }),
    sightingWhereHidden: common('sighting', G, { sighting_of_ref: visible.id, where_sighted_refs: [place.id, hiddenPlace.id] }),
    sightingVisible: common('sighting', G, { sighting_of_ref: visible.id, where_sighted_refs: [place.id] }),
    reportHidden: common('report', G, { name: 'r', published: '2024-01-01T00:00:00.000Z', object_refs: [visible.id, hidden.id] }),
    reportVisible: common('report', G, { name: 'r', published: '2024-01-01T00:00:00.000Z', object_refs: [visible.id, outside] }),
    groupingHidden: common('grouping', G, { context: 'suspicious-activity', object_refs: [hidden.id] }),
    noteHidden: common('note', G, { content: 'n', object_refs: [hiddenPlace.id] }),
    opinionHidden: common('opinion', G, { opinion: 'agree', object_refs: [hidden.id, visible.id] }),
  };
  const base = [visible, visible2, hidden, place, hiddenPlace];
  const alwaysVisible = [visible.id, visible2.id, place.id, r.relVisible.id, r.relOutside.id, r.sightingVisible.id, r.reportVisible.id];
  const containersHidden = [r.reportHidden.id, r.groupingHidden.id, r.noteHidden.id, r.opinionHidden.id];

  beforeAll(async () => {
    col = await newCollection();
    green = await newClient([col.id], { clearance: 'GREEN' });
    amber = await newClient([col.id], { clearance: 'AMBER' });
    await expectComplete(await postObjects(node, col.base, [...base, ...Object.values(r)]), base.length + Object.keys(r).length);
  });

  it('withholds relationships, sightings, reports, groupings, notes and opinions pointing at what the client may not see', async () => {
    await expectServes(col.base, green.token, alwaysVisible);
  });

  it('serves them all to a client who may see what they point at', async () => {
    await expectServes(
      col.base,
      amber.token,
      [...base, ...Object.values(r)].map((x) => x.id),
    );
  });

  it('lets containers through when the collection relaxes container references, never links', async () => {
    const patched = await adminJson(node, 'PATCH', `/admin/collections/${col.id}`, { relax_container_refs: true });
    expect(patched.relax_container_refs).toBe(true);
    await expectServes(col.base, green.token, [...alwaysVisible, ...containersHidden]);
    await expectLikeUnknown((id) => `${col.base}/objects/${id}/`, r.relHidden.id, green.token);
    expect(await del(`${col.base}/objects/${r.sightingOfHidden.id}/`, green.token)).toBe(404);
    await adminJson(node, 'PATCH', `/admin/collections/${col.id}`, { relax_container_refs: false });
    await expectLikeUnknown((id) => `${col.base}/objects/${id}/`, r.reportHidden.id, green.token);
  });
});

// ---- public collections ----------------------------------------------------------------

describe('a public collection serves CLEAR objects without credentials, and nothing else', () => {
  let pub: { id: string; base: string };
  let priv: { id: string; base: string };
  let green: Client;
  const clear = marked([TLP1.white]);
  const clear2 = marked([TLP2.clear]);
  const green1 = marked([TLP1.green]);
  const unmarked = indicator();
  const red = marked([TLP1.red]);
  const clearRel = relationship(clear.id, green1.id, [TLP1.white]);

  beforeAll(async () => {
    pub = await newCollection({ public: true });
    priv = await newCollection();
    green = await newClient([pub.id], { clearance: 'GREEN' });
    await expectComplete(await postObjects(node, pub.base, [clear, clear2, green1, unmarked, red, clearRel]), 6);
    await expectComplete(await postObjects(node, priv.base, [marked([TLP1.white])]), 1);
  });

  it('serves CLEAR, and the shipped TLP 2.0 definitions, to an anonymous reader on every read path', async () => {
    await expectServes(pub.base, null, [TLP2_EXTENSION, TLP2.clear, clear.id, clear2.id]);
  });

  it('serves authenticated clients by their clearance as usual', async () => {
    await expectServes(pub.base, green.token, [TLP2_EXTENSION, TLP2.clear, clear.id, clear2.id, green1.id, clearRel.id]);
  });

  it('takes no writes and no deletes without credentials', async () => {
    expect(await del(`${pub.base}/objects/${clear.id}/`, null)).toBe(401);
    const res = await node.request(`${pub.base}/objects/`, {
      token: null,
      method: 'POST',
      headers: { 'content-type': 'application/taxii+json;version=2.1' },
      body: JSON.stringify({ objects: [marked([TLP1.white])] }),
    });
    expect(res.status).toBe(401);
    await res.body?.cancel();
  });

  it('answers 401 without credentials for every other collection, and once the collection is no longer public', async () => {
    for (const path of [`${priv.base}/objects/`, `${priv.base}/manifest/`, `/default/collections/${randomUUID()}/objects/`]) {
      expect((await get(path, null)).status, path).toBe(401);
    }
    await adminJson(node, 'PATCH', `/admin/collections/${pub.id}`, { public: false });
    expect((await get(`${pub.base}/objects/`, null)).status).toBe(401);
    expect((await get(`${pub.base}/objects/${clear.id}/`, null)).status).toBe(401);
    await adminJson(node, 'PATCH', `/admin/collections/${pub.id}`, { public: true });
    expect((await get(`${pub.base}/objects/${clear.id}/`, null)).status).toBe(200);
  });
});

// ---- peers -----------------------------------------------------------------------------

describe('a peer node gets GREEN, and AMBER only by agreement and only what this node originated', () => {
  let col: { id: string; base: string };
  let peer: Peer;
  let peerAmber: Peer;
  const clear = marked([TLP1.white]);
  const green = marked([TLP1.green]);
  const greenRelayed = marked([TLP1.green]);
  const amber = marked([TLP1.amber]);
  const unmarked = indicator();
  const amberRelayed = marked([TLP1.amber]);
  const strict = marked([TLP2.amberStrict]);
  const red = marked([TLP1.red]);
  const relToRelayed = relationship(green.id, amberRelayed.id, [TLP1.green]);

  beforeAll(async () => {
    col = await newCollection();
    // A peer reads by signed requests only: every read below carries a fresh proof.
    const grants = [{ collection_id: col.id, can_read: true, can_write: true }];
    peer = await pinnedPeer(node, { grants });
    // Neither clearance, own organisation nor RED recipiency widens what a peer gets.
    peerAmber = await pinnedPeer(node, { grants, peer_amber: true, clearance: 'AMBER+STRICT', own_org: true });
    await adminJson(node, 'PUT', `/admin/collections/${col.id}/red-recipients/${peerAmber.id}`);
    await expectComplete(
      await postObjects(node, col.base, [clear, green, greenRelayed, amber, unmarked, amberRelayed, strict, red, relToRelayed]),
      9,
    );
    await node.database.db
      .updateTable('objects')
      .set({ origin: 'node-b.example' })
      .where('collection_id', '=', col.id)
      .where('id', 'in', [greenRelayed.id, amberRelayed.id])
      .execute();
  });

  it('serves a peer CLEAR and GREEN, relayed GREEN included', async () => {
    expect(await adminJson(node, 'GET', `/admin/clients/${peer.id}`)).toMatchObject({ kind: 'peer', peer_amber: false });
    await expectServes(col.base, peer, [TLP2_EXTENSION, TLP2.amberStrict, clear.id, green.id, greenRelayed.id]);
  });

  it('adds AMBER this node originated for a peer whose agreement allows it; never relayed AMBER, AMBER+STRICT or RED', async () => {
    await expectServes(col.base, peerAmber, [TLP2_EXTENSION, TLP2.amberStrict, clear.id, green.id, greenRelayed.id, amber.id, unmarked.id]);
  });

  it('records AMBER pages pulled by a peer as deliveries to peer:<id>', async () => {
    const recipients = await adminJson(node, 'GET', `/admin/collections/${col.id}/objects/${amber.id}/recipients`);
    expect(recipients.deliveries.map((d: any) => d.recipient)).toContain(`peer:${peerAmber.id}`);
    expect(recipients.deliveries.map((d: any) => d.recipient)).not.toContain(`peer:${peer.id}`);
  });
});

// ---- PAP -------------------------------------------------------------------------------

function pap(level: string): StixObject {
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: `marking-definition--${randomUUID()}`,
    created: '2024-01-01T00:00:00.000Z',
    name: `PAP:${level.toUpperCase()}`,
    definition_type: 'pap',
    definition: { pap: level },
  };
}

describe('PAP restricts use, not sharing; a collection may take PAP:CLEAR/GREEN content only', () => {
  const papRed = pap('red');
  const papAmber = pap('amber');
  const papGreen = pap('green');
  const papClear = pap('clear');

  it('rejects PAP:AMBER and PAP:RED content in a pap_green_only collection with a failure naming it', async () => {
    const col = await newCollection({ pap_green_only: true });
    const green = await newClient([col.id], { clearance: 'GREEN' });
    await expectComplete(await postObjects(node, col.base, [papRed, papAmber, papGreen, papClear]), 4);
    const iRed = marked([TLP1.green, papRed.id]);
    const iAmber = marked([papAmber.id, TLP1.white]);
    const iGranular = marked([TLP1.green], { granular_markings: [{ marking_ref: papRed.id, selectors: ['pattern'] }] });
    const iGreen = marked([TLP1.green, papGreen.id]);
    const iClear = marked([TLP1.white, papClear.id]);
    const s = await postObjects(node, col.base, [iRed, iAmber, iGranular, iGreen, iClear]);
    await expectComplete(s, 2, 3);
    const failure = (id: string) => s.failures.find((f: any) => f.id === id).message as string;
    expect(failure(iRed.id)).toMatch(/PAP:RED/);
    expect(failure(iAmber.id)).toMatch(/PAP:AMBER/);
    expect(failure(iGranular.id)).toMatch(/PAP:RED/);
    for (const id of [iRed.id, iAmber.id, iGranular.id]) expect(failure(id)).toMatch(/PAP:CLEAR and PAP:GREEN content only/);
    // A PAP marking sent in the same request counts too.
    const papRed2 = pap('red');
    const same = await postObjects(node, col.base, [papRed2, marked([TLP1.white, papRed2.id])]);
    await expectComplete(same, 1, 1);
    expect(same.failures[0].message).toMatch(/PAP:RED/);
    await expectServes(col.base, green.token, [papRed.id, papAmber.id, papGreen.id, papClear.id, iGreen.id, iClear.id, papRed2.id]);
  });

  it('carries PAP content elsewhere, and PAP never loosens TLP', async () => {
    const col = await newCollection();
    const green = await newClient([col.id], { clearance: 'GREEN' });
    const iRed = marked([TLP1.green, papRed.id]);
    const iLoose = marked([TLP1.amber, papClear.id]);
    const iOnlyPap = marked([papClear.id]);
    await expectComplete(await postObjects(node, col.base, [papRed, papClear, iRed, iLoose, iOnlyPap]), 5);
    await expectServes(col.base, green.token, [papRed.id, papClear.id, iRed.id]);
    const r = await get(`${col.base}/objects/${iRed.id}/`, green.token);
    expect(r.body.objects).toEqual([iRed]);
  });
});

// ---- TLP 2.0 shipping ------------------------------------------------------------------

describe('TLP 2.0 markings are shipped into the collection before the first object that references them', () => {
  let col: { id: string; base: string };
  let green: Client;
  const i1 = marked([TLP2.green]);
  const i2 = marked([TLP2.green]);
  const i3 = marked([TLP2.amber]);
  const i4 = marked([TLP1.white], { granular_markings: [{ marking_ref: TLP2.clear, selectors: ['name'] }] });

  beforeAll(async () => {
    col = await newCollection();
    green = await newClient([col.id], { clearance: 'GREEN' });
  });

  it('gives a GREEN client the extension definition and the marking definition, in date order before the object', async () => {
    const s = await postObjects(node, col.base, [i1]);
    expect(s).toMatchObject({ total_count: 1, success_count: 1, failure_count: 0 });
    const r = await get(`${col.base}/objects/`, green.token);
    expect(r.body).toEqual({ more: false, objects: [markingById.get(TLP2_EXTENSION), markingById.get(TLP2.green), i1] });
    const manifest = (await get(`${col.base}/manifest/`, green.token)).body.objects as ManifestRecord[];
    expect(manifest.map((m) => m.id)).toEqual([TLP2_EXTENSION, TLP2.green, i1.id]);
    expect([...manifest].sort((a, b) => a.date_added.localeCompare(b.date_added))).toEqual(manifest);
    expect(new Set(manifest.map((m) => m.date_added)).size).toBe(3);
    expect([r.first, r.last]).toEqual([manifest[0]!.date_added, manifest[2]!.date_added]);
  });

  it('ships each definition once, and only what is missing', async () => {
    await expectComplete(await postObjects(node, col.base, [i2]), 1);
    await expectComplete(await postObjects(node, col.base, [i3]), 1);
    // The client sending a definition itself: nothing shipped twice.
    await expectComplete(await postObjects(node, col.base, [markingById.get(TLP2.clear)!, i4]), 2);
    const all = await adminManifest(col.base, '&match[version]=all');
    expect(all.map((m) => m.id)).toEqual([TLP2_EXTENSION, TLP2.green, i1.id, i2.id, TLP2.amber, i3.id, TLP2.clear, i4.id]);
    await expectServes(col.base, green.token, [TLP2_EXTENSION, TLP2.green, i1.id, i2.id, TLP2.amber, TLP2.clear, i4.id]);
    expect((await get(`${col.base}/objects/${TLP2.amber}/`, green.token)).body.objects).toEqual([markingById.get(TLP2.amber)]);
  });

  it('ships nothing for TLP 1.0 markings, which STIX predefines', async () => {
    const other = await newCollection();
    await expectComplete(await postObjects(node, other.base, [marked([TLP1.green])]), 1);
    expect(await adminManifest(other.base)).toHaveLength(1);
  });
});

// ---- audit -----------------------------------------------------------------------------

describe('the audit records pages with AMBER content, and only those', () => {
  let col: { id: string; base: string };
  let green: Client;
  let amber: Client;
  const c = marked([TLP1.white]);
  const g = marked([TLP1.green]);
  const a = marked([TLP1.amber]);
  const recipients = async (id: string) =>
    (await adminJson(node, 'GET', `/admin/collections/${col.id}/objects/${id}/recipients`)).deliveries as any[];

  beforeAll(async () => {
    col = await newCollection();
    green = await newClient([col.id], { clearance: 'GREEN' });
    amber = await newClient([col.id], { clearance: 'AMBER' });
    await expectComplete(await postObjects(node, col.base, [c, g, a]), 3);
  });

  it('records nothing for a CLEAR/GREEN-only page', async () => {
    expect(idsOf((await get(`${col.base}/objects/`, green.token)).body)).toEqual([c.id, g.id]);
    expect((await get(`${col.base}/objects/${g.id}/`, green.token)).status).toBe(200);
    expect(idsOf((await get(`${col.base}/objects/?match[id]=${g.id}`, amber.token)).body)).toEqual([g.id]);
    for (const id of [c.id, g.id, a.id]) expect(await recipients(id)).toEqual([]);
  });

  it('records a page with AMBER content, and lists its recipient for every object on it', async () => {
    const page = await get(`${col.base}/objects/`, amber.token);
    expect(idsOf(page.body)).toEqual([c.id, g.id, a.id]);
    const deliveries = await recipients(a.id);
    expect(deliveries).toEqual([
      expect.objectContaining({
        recipient: `client:${amber.id}`,
        collection_id: col.id,
        first_date_added: page.first,
        last_date_added: page.last,
        object_count: 3,
        max_level: 'AMBER',
      }),
    ]);
    expect(deliveries[0].delivered_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect((await recipients(g.id)).map((d) => d.recipient)).toEqual([`client:${amber.id}`]);
  });

  it('records the object endpoint, not the manifest or versions', async () => {
    expect((await get(`${col.base}/objects/${a.id}/`, amber.token)).status).toBe(200);
    expect((await get(`${col.base}/manifest/`, amber.token)).status).toBe(200);
    expect((await get(`${col.base}/objects/${a.id}/versions/`, amber.token)).status).toBe(200);
    const deliveries = await recipients(a.id);
    expect(deliveries.map((d) => [d.recipient, d.object_count])).toEqual([
      [`client:${amber.id}`, 3],
      [`client:${amber.id}`, 1],
    ]);
    expect(await recipients(g.id)).toHaveLength(1);
    expect(await recipients(`indicator--${randomUUID()}`)).toEqual([]);
    expect(
      (await node.request(`/admin/collections/${randomUUID()}/objects/${a.id}/recipients`, { headers: { accept: 'application/json' } }))
        .status,
    ).toBe(404);
  });
});
