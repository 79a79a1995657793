import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres, startTestNode, testDatabase } from '../support/node.ts';
import { insertObjects } from '../../src/store/objects.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, indicator, postObjects, storable } from '../support/stix.ts';
import { lateDefinitionBundle, relationship, statement } from '../support/bundles.ts';
import { readCollection } from '../support/taxii-read.ts';
import { TLP1 } from '../fixtures/tlp-ids.ts';

// STIX puts no order on a bundle's objects: a marking-definition may come anywhere in a request
// (MITRE puts its statement last), in a later request, or never. An object whose marking cannot
// be resolved is withheld from everyone, but only until the definition arrives.

// Requests of up to 3,000 objects are stored inline, larger ones queued; both span several
// 1,000-object chunks here.
const INLINE_MAX = 3000;

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ SYNC_INGEST_MAX_OBJECTS: String(INLINE_MAX) });
});
afterAll(async () => node?.stop());

type Client = { id: string; token: string };

async function newCollection(): Promise<{ id: string; base: string }> {
  const c = await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: `markings ${randomUUID()}` });
  return { id: c.id, base: `/default/collections/${c.id}` };
}

async function newClient(collectionId: string, clearance: string): Promise<Client> {
  const grants = [{ collection_id: collectionId, can_read: true, can_write: true }];
  const c = await adminJson(node, 'POST', '/admin/clients', { name: `markings-${randomUUID().slice(0, 8)}`, clearance, grants });
  return { id: c.id, token: c.token };
}

async function denied(collectionId: string): Promise<any> {
  return adminJson(node, 'GET', `/admin/collections/${collectionId}/denied`);
}

function byId(objects: Record<string, unknown>[]): Map<string, Record<string, unknown>> {
  return new Map(objects.map((o) => [o.id as string, o]));
}

describe('a request whose marking definitions come after the objects that use them', () => {
  it.each([
    ['inline', 2_600],
    ['queued', 3_300],
  ])('is served whole to a client cleared for its level (%s, %i objects)', async (_, size) => {
    const col = await newCollection();
    const reader = await newClient(col.id, 'AMBER');
    const objects = lateDefinitionBundle(size);
    const status = await postObjects(node, col.base, objects);
    expect(status).toMatchObject({ status: 'complete', total_count: size, success_count: size, failure_count: 0 });
    expect(new Set(status.successes.map((s: any) => s.message))).toEqual(new Set(['added']));

    const read = await readCollection(node, col.base, reader.token);
    expect(read.objects).toHaveLength(size);
    const served = byId(read.objects);
    for (const o of objects) expect(served.get(o.id)).toEqual(o);
    // Definitions go first: a reader never holds an object before what marks it.
    expect(read.objects[0]!.type).toBe('marking-definition');
    expect(await denied(col.id)).toEqual({ objects: [], waiting: [], truncated: false });
  });
});

describe('a marking definition sent in a later request', () => {
  let col: { id: string; base: string };
  let amber: Client;
  let green: Client;
  const mark = statement('Handle with care.');
  const marked = Array.from({ length: 20 }, (_, i) =>
    indicator({ name: `waiting ${i}`, object_marking_refs: i < 5 ? [mark.id, TLP1.green] : [mark.id] }),
  );
  const links = marked.slice(0, 5).map((o, i) => relationship(o.id, marked[i + 5]!.id, { object_marking_refs: [TLP1.green] }));
  const visible = indicator({ name: 'visible at once', object_marking_refs: [TLP1.green] });
  let first: any;
  let cursor: string;

  beforeAll(async () => {
    col = await newCollection();
    amber = await newClient(col.id, 'AMBER');
    green = await newClient(col.id, 'GREEN');
    first = await postObjects(node, col.base, [...marked, ...links]);
    await postObjects(node, col.base, [visible]);
    // A poller reads everything it may: the visible object, added after the withheld ones.
    const poll = await readCollection(node, col.base, amber.token);
    expect(poll.objects.map((o) => o.id)).toEqual([visible.id]);
    cursor = poll.last!;
  });

  it('says, per object, that it is withheld until the definition is known', () => {
    expect(first.success_count).toBe(25);
    for (const o of marked) {
      const s = first.successes.find((d: any) => d.id === o.id);
      expect(s.message).toBe(
        `added; withheld until marking-definition ${mark.id} is known: no such marking-definition in this request or this collection yet`,
      );
    }
  });

  it('lists the withheld versions and the definition they wait for under the admin endpoint', async () => {
    const list = await denied(col.id);
    expect(list.objects.map((o: any) => o.id)).toEqual(marked.map((o) => o.id));
    expect(new Set(list.objects.map((o: any) => o.cause))).toEqual(new Set(['unresolved-marking']));
    expect(list.objects[0].waiting_for).toEqual([mark.id]);
    expect(list.waiting).toEqual([{ marking_definition: mark.id, objects: 20 }]);
  });

  it('releases them when the definition arrives: a poller past their date_added gets them on its next poll', async () => {
    const s = await postObjects(node, col.base, [mark]);
    expect(s.successes).toEqual([{ id: mark.id, version: mark.created, message: 'added' }]);
    const next = await readCollection(node, col.base, amber.token, cursor);
    const expected = [mark, ...marked, ...links];
    expect(next.objects).toHaveLength(expected.length);
    const served = byId(next.objects);
    for (const o of expected) expect(served.get(o.id)).toEqual(o);
    expect(await denied(col.id)).toEqual({ objects: [], waiting: [], truncated: false });
  });

  it("notes the release in the first request's status: each object it withheld says it is served now", async () => {
    const status = (await (await node.request(`/default/status/${first.id}/`)).json()) as any;
    for (const o of marked) {
      const s = status.successes.find((d: any) => d.id === o.id);
      expect(s.message).toMatch(
        new RegExp(
          `^added; withheld until marking-definition ${mark.id} is known: .*; \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z released: every marking-definition it waited for is known now, and it is served at its level$`,
        ),
      );
    }
    // The links were not withheld: their messages are as they were.
    for (const l of links) expect(status.successes.find((d: any) => d.id === l.id).message).toBe('added');
  });

  it('serves each object once to a reader starting afresh, at its real level', async () => {
    const all = await readCollection(node, col.base, amber.token);
    expect(all.objects.map((o) => o.id).sort()).toEqual([visible, mark, ...marked, ...links].map((o) => o.id).sort());
    // GREEN sees the GREEN-marked ones and the links between them; the rest is AMBER (the default).
    const greens = await readCollection(node, col.base, green.token);
    expect(greens.objects.map((o) => o.id).sort()).toEqual([visible, mark, ...marked.slice(0, 5)].map((o) => o.id).sort());
  });

  it('answers a resent request as already present, withholding nothing', async () => {
    const again = await postObjects(node, col.base, [...marked, ...links]);
    expect(new Set(again.successes.map((d: any) => d.message))).toEqual(new Set(['already present: nothing changed']));
  });
});

describe('a later definition that turns out TLP-like but unknown', () => {
  it('keeps the objects withheld, for good, and says why', async () => {
    const col = await newCollection();
    const reader = await newClient(col.id, 'AMBER');
    const purple = { ...statement('TLP:PURPLE'), name: 'TLP:PURPLE' };
    const o = indicator({ object_marking_refs: [purple.id] });
    await postObjects(node, col.base, [o]);
    await postObjects(node, col.base, [purple]);
    expect((await readCollection(node, col.base, reader.token)).objects.map((x) => x.id)).toEqual([purple.id]);
    const list = await denied(col.id);
    expect(list.objects).toEqual([expect.objectContaining({ id: o.id, cause: 'unknown-tlp-marking', waiting_for: [] })]);
    expect(list.objects[0].reason).toContain(purple.id);
    expect(list.waiting).toEqual([]);
  });
});

describe('an object with a version waiting for a definition', () => {
  it('is withheld whole (every version) until it arrives, then served at its strictest level', async () => {
    const col = await newCollection();
    const green = await newClient(col.id, 'GREEN');
    const mark = statement('Version two, marked later.');
    const v1 = indicator({ object_marking_refs: [TLP1.green] });
    const v2 = { ...v1, modified: '2024-02-01T00:00:00.000Z', name: 'second version', object_marking_refs: [mark.id, TLP1.green] };
    await postObjects(node, col.base, [v1]);
    expect((await readCollection(node, col.base, green.token)).objects).toEqual([v1]);
    const s = await postObjects(node, col.base, [v2]);
    expect(s.successes[0].message).toContain(`withheld until marking-definition ${mark.id} is known`);
    expect((await readCollection(node, col.base, green.token)).objects).toEqual([]);
    const v1Status = await postObjects(node, col.base, [v1]);
    expect(v1Status.successes[0].message).toMatch(
      /^already present: nothing changed; withheld from every recipient: another version of this object is withheld \(version 2024-02-01T00:00:00.000Z: withheld until marking-definition/,
    );
    await postObjects(node, col.base, [mark]);
    expect((await readCollection(node, col.base, green.token)).objects).toEqual([mark, v2]);
  });
});

describe('the same id and version twice in one request', () => {
  it('stores the first; a copy is a success that says so, other content is a failure naming the first', async () => {
    const col = await newCollection();
    const o = indicator();
    const other = indicator();
    const s = await postObjects(node, col.base, [o, other, { ...o }, { ...o, name: 'changed without a new modified' }]);
    expect(s).toMatchObject({ success_count: 3, failure_count: 1 });
    expect(s.successes.map((d: any) => d.message)).toEqual(['added', 'added', 'a copy of objects[0] of this request: stored once']);
    expect(s.failures).toEqual([
      {
        id: o.id,
        version: o.modified,
        message: expect.stringMatching(
          /^objects\[3\]: same id and version as objects\[0\] of this request, with other content: objects\[0\] was stored/,
        ),
      },
    ]);
    expect((await readCollection(node, col.base)).objects.find((x) => x.id === o.id)).toEqual(o);
  });

  it('is reported across the chunks of a queued request too', async () => {
    const col = await newCollection();
    const o = indicator();
    const filler = Array.from({ length: INLINE_MAX + 200 }, (_, i) => indicator({ name: `filler ${i}` }));
    const s = await postObjects(node, col.base, [o, ...filler, { ...o, name: 'changed' }]);
    expect(s).toMatchObject({ status: 'complete', success_count: INLINE_MAX + 201, failure_count: 1 });
    expect(s.failures[0].message).toMatch(
      new RegExp(`^objects\\[${INLINE_MAX + 201}\\]: same id and version as objects\\[0\\] of this request`),
    );
  });
});

describe('versions an older release denied for good for a missing definition', () => {
  it('wait after the 0008 migration, and are released when the definition (or the bundle) is sent again', async () => {
    const source = await testDatabase();
    const mark = statement('Sent last, as MITRE does.');
    const objects = [indicator({ object_marking_refs: [mark.id] }), indicator({ object_marking_refs: [mark.id] })];
    let old: TestNode | undefined = await startTestNode({}, source);
    let upgraded: TestNode | undefined;
    try {
      const col = (await adminJson(old, 'POST', '/admin/collections', { api_root: 'default', title: 'before 0008' })).id;
      await postObjects(old, `/default/collections/${col}`, [...objects, mark]);
      // The state the release before 0008 left: its first chunk's objects denied, their ids'
      // level remembered as DENY, the definition stored after them; no unresolved_refs column.
      const db = old.database.db;
      await sql`UPDATE objects SET tlp_level = 5, deny_reason = ${`marking ${mark.id} cannot be resolved: no such marking-definition in this collection`}
        WHERE collection_id = ${col} AND type = 'indicator'`.execute(db);
      await sql`UPDATE id_levels SET tlp_level = 5 WHERE collection_id = ${col} AND id LIKE 'indicator--%'`.execute(db);
      await sql`ALTER TABLE objects DROP COLUMN unresolved_refs`.execute(db);
      await sql`DELETE FROM schema_migrations WHERE name = '0008_unresolved_markings.sql'`.execute(db);
      await old.stop();
      old = undefined;

      upgraded = await startTestNode({}, source);
      const base = `/default/collections/${col}`;
      const reader = await adminJson(upgraded, 'POST', '/admin/clients', {
        name: 'reader',
        clearance: 'AMBER',
        grants: [{ collection_id: col, can_read: true, can_write: false }],
      });
      expect((await readCollection(upgraded, base, reader.token)).objects.map((o) => o.id)).toEqual([mark.id]);
      const listed = await adminJson(upgraded, 'GET', `/admin/collections/${col}/denied`);
      expect(listed.waiting).toEqual([{ marking_definition: mark.id, objects: 2 }]);
      const again = await postObjects(upgraded, base, [...objects, mark]);
      expect(new Set(again.successes.map((s: any) => s.message))).toEqual(new Set(['already present: nothing changed']));
      expect((await readCollection(upgraded, base, reader.token)).objects.map((o) => o.id).sort()).toEqual(
        [mark, ...objects].map((o) => o.id).sort(),
      );
    } finally {
      await old?.stop();
      await upgraded?.stop();
      await source.drop();
    }
  });
});

// Two writers of one collection, on PostgreSQL (PGlite has one session: nothing interleaves).
describe.runIf(onPostgres)('a definition committed while a request that needs it waits for the collection', () => {
  it('releases that request’s objects as it stores them', async () => {
    const col = await newCollection();
    const reader = await newClient(col.id, 'AMBER');
    const mark = statement('Committed by another writer.');
    const o = indicator({ object_marking_refs: [mark.id] });
    const asNew = storable(mark);
    let posted: Promise<any> | undefined;
    // Another writer holds the collection's lock; the request classifies `o` (no definition yet)
    // and queues behind it; the writer stores the definition and commits; then `o` is stored.
    await node.database.db.transaction().execute(async (tx) => {
      await sql`SELECT 1 FROM collections WHERE id = ${col.id} FOR NO KEY UPDATE`.execute(tx);
      posted = postObjects(node, col.base, [o]);
      for (let i = 0; i < 200; i++) {
        // Waiting for a row lock is waiting for the transaction that holds it: this one.
        const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_locks
          WHERE locktype = 'transactionid' AND transactionid::text = txid_current()::text AND NOT granted`.execute(tx);
        if (r.rows[0]!.n > 0) break;
        await new Promise((r) => setTimeout(r, 25));
        if (i === 199) throw new Error('the request never queued for the collection');
      }
      await insertObjects(tx, col.id, [asNew]);
    });
    const status = await posted!;
    expect(status.successes[0].message).toBe('added');
    expect((await readCollection(node, col.base, reader.token)).objects.map((x) => x.id)).toEqual([mark.id, o.id]);
  });
});
