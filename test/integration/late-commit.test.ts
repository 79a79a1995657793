import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres, startTestNode, testDatabase } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator, storable } from '../support/stix.ts';
import { TAXII } from '../support/node.ts';
import type { StixObject } from '../support/stix.ts';
import { insertObjects, selectManifest } from '../../src/store/objects.ts';
import { asWriter } from '../../src/store/write-horizon.ts';

// TAXII pollers page with added_after = the last date_added they saw. If a transaction took its
// stamp, then committed after a later-stamped one, a poller that read the later row in between
// would skip the earlier one forever. Writers store side by side; readers stay before the
// horizon (store/write-horizon.ts). These tests run writers and pollers at once.

let node: TestNode;
let collectionId: string;
beforeAll(async () => {
  node = await startTestNode();
  ({ collectionId } = await collectionWithClient(node));
});
afterAll(async () => node?.stop());

const asNew = storable;

/** A writer of the collection that stores `o` and holds its transaction open until released. */
function heldWriter(o: StixObject) {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let stored!: (pid: number) => void;
  const didStore = new Promise<number>((r) => (stored = r));
  const done = asWriter(node.database.db, collectionId, 120, async (tx) => {
    await insertObjects(tx, collectionId, [asNew(o)]);
    stored((await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(tx)).rows[0]!.pid);
    await held;
  });
  return { release, didStore, done };
}

const manifestIds = async (ids: string[]) =>
  (await selectManifest(node.database.db, collectionId, { ids, audience: { kind: 'admin' } }, 10)).map((r) => r.id);

describe('a poller never misses a row committed late', () => {
  // PostgreSQL: writers store side by side, and readers stay before the horizon.
  it.runIf(onPostgres)(
    'serves nothing a writer in flight may precede: what commits after it waits for it, then both come in stamp order',
    async () => {
      const a = indicator();
      const b = indicator();
      const first = heldWriter(a);
      await first.didStore;
      // B does not wait for A, and commits first, with later stamps.
      await asWriter(node.database.db, collectionId, 120, (tx) => insertObjects(tx, collectionId, [asNew(b)]));
      // A poller must not get B yet: its added_after would pass A's stamps before A commits.
      expect(await manifestIds([a.id, b.id])).toEqual([]);
      first.release();
      await first.done;
      expect(await manifestIds([a.id, b.id])).toEqual([a.id, b.id]);
    },
  );

  it.runIf(onPostgres)('makes writers of one object take turns, so exactly one version is its latest', async () => {
    const v1 = indicator({ modified: '2026-01-01T00:00:00.000Z' });
    const v2 = { ...v1, modified: '2026-02-01T00:00:00.000Z', name: 'second version' };
    const first = heldWriter(v1);
    await first.didStore;
    let secondDone = false;
    const second = asWriter(node.database.db, collectionId, 120, (tx) => insertObjects(tx, collectionId, [asNew(v2)])).then(
      () => (secondDone = true),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(secondDone).toBe(false);
    first.release();
    await Promise.all([first.done, second]);
    const rows = await sql<{ modified: string; latest: boolean }>`
      SELECT object->>'modified' AS modified, latest FROM objects WHERE collection_id = ${collectionId} AND id = ${v1.id}
      ORDER BY version_at`.execute(node.database.db);
    expect(rows.rows).toEqual([
      { modified: v1.modified, latest: false },
      { modified: v2.modified, latest: true },
    ]);
  });

  it.runIf(onPostgres)('passes over a writer whose session ended without committing', async () => {
    const a = indicator();
    const b = indicator();
    const dead = heldWriter(a);
    const pid = await dead.didStore;
    dead.done.catch(() => {});
    await sql`SELECT pg_terminate_backend(${pid})`.execute(node.database.db);
    dead.release();
    await dead.done.then(
      () => expect.fail('the terminated writer committed'),
      () => {},
    );
    // Its announcement outlives it (it was committed on its own), and no longer counts.
    const left = await sql<{ n: number }>`SELECT count(*)::int AS n FROM writers_in_flight WHERE pid = ${pid}`.execute(node.database.db);
    expect(left.rows[0]!.n).toBe(1);
    await asWriter(node.database.db, collectionId, 120, (tx) => insertObjects(tx, collectionId, [asNew(b)]));
    expect(await manifestIds([a.id, b.id])).toEqual([b.id]);
  });

  // PGlite has one session: a second writer waits for the first, and stamps after it.
  it.runIf(onPostgres)('holds no reader back while a request too large to store inline is recorded: it stores no object', async () => {
    // The recording is held up (another session keeps statuses locked) while the test looks.
    let unlock!: () => void;
    const unlocked = new Promise<void>((r) => (unlock = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = node.database.db.transaction().execute(async (tx) => {
      await sql`LOCK TABLE statuses IN SHARE MODE`.execute(tx);
      locked();
      await unlocked;
    });
    await isLocked;
    const big = Array.from({ length: 1001 }, () => indicator());
    let posted: Promise<Response> | undefined;
    try {
      posted = node.request(`/default/collections/${collectionId}/objects/`, {
        method: 'POST',
        headers: { 'content-type': TAXII },
        body: JSON.stringify({ objects: big }),
      });
      const waiting = sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO%statuses%'`;
      for (let i = 0; i < 400 && (await waiting.execute(node.database.db)).rows[0]!.n === 0; i++)
        await new Promise((r) => setTimeout(r, 25));
      expect((await waiting.execute(node.database.db)).rows[0]!.n).toBe(1);
      const writers = await sql<{
        n: number;
      }>`SELECT count(*)::int AS n FROM writers_in_flight WHERE collection_id = ${collectionId}`.execute(node.database.db);
      expect(writers.rows[0]!.n).toBe(0);
    } finally {
      unlock();
      await holder;
    }
    const res = await posted!;
    expect(res.status).toBe(202);
    expect(((await res.json()) as { status: string }).status).toBe('pending');
  });

  it.skipIf(onPostgres)('makes a writer that stamps while another is uncommitted wait, and stamp after it', async () => {
    const a = indicator();
    const b = indicator();
    const first = heldWriter(a);
    await first.didStore;
    let bDone = false;
    const second = asWriter(node.database.db, collectionId, 120, (tx) => insertObjects(tx, collectionId, [asNew(b)])).then(
      () => (bDone = true),
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(bDone).toBe(false);
    first.release();
    await Promise.all([first.done, second]);
    expect(await manifestIds([a.id, b.id])).toEqual([a.id, b.id]);
  });

  it('lets concurrent pollers see every object exactly once while writers post over HTTP', async () => {
    const { base } = await collectionWithClient(node);
    const writers = 4;
    const postsPerWriter = 12;
    const expected = new Set<string>();
    let writing = true;

    const writer = async () => {
      for (let i = 0; i < postsPerWriter; i++) {
        const batch = Array.from({ length: 1 + ((i * 7) % 25) }, () => indicator());
        for (const o of batch) expected.add(o.id);
        const res = await node.request(`${base}/objects/`, {
          method: 'POST',
          headers: { 'content-type': 'application/taxii+json;version=2.1' },
          body: JSON.stringify({ objects: batch }),
        });
        expect(res.status).toBe(202);
        await res.arrayBuffer();
      }
    };

    const poller = async () => {
      const seen: string[] = [];
      let after: string | undefined;
      const pollOnce = async () => {
        const q = `limit=7${after ? `&added_after=${after}` : ''}`;
        const res = await node.request(`${base}/manifest/?${q}`);
        const body: any = await res.json();
        for (const rec of body.objects ?? []) {
          if (after) expect(rec.date_added > after).toBe(true);
          seen.push(rec.id);
          after = rec.date_added;
        }
        return body.more === true;
      };
      while (writing) await pollOnce();
      while (await pollOnce()) {}
      return seen;
    };

    const pollers = Array.from({ length: 3 }, poller);
    await Promise.all(Array.from({ length: writers }, writer));
    writing = false;
    const results = await Promise.all(pollers);
    for (const seen of results) {
      expect(new Set(seen).size).toBe(seen.length);
      expect(new Set(seen)).toEqual(expected);
    }
  });
});

describe('a node upgraded across migration 0010 (stamps from one clock)', () => {
  it('stamps after every stamp its collections handed out before, even one ahead of the clock', async () => {
    const database = await testDatabase();
    let old: TestNode | undefined = await startTestNode({}, database);
    let upgraded: TestNode | undefined;
    try {
      const col = await collectionWithClient(old);
      const db = old.database.db;
      // The release before 0010 kept each collection's last stamp; this one is a day ahead.
      for (const statement of [
        'DROP TABLE writers_in_flight',
        'DROP FUNCTION vigil_stamps(integer)',
        'DROP SEQUENCE date_added_clock',
        "ALTER TABLE collections ADD COLUMN last_date_added timestamptz NOT NULL DEFAULT '-infinity'",
        "DELETE FROM schema_migrations WHERE name = '0010_writers_in_parallel.sql'",
      ])
        await sql.raw(statement).execute(db);
      const ahead = (
        await sql<{
          at: string;
        }>`SELECT to_char((now() + interval '1 day') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at`.execute(db)
      ).rows[0]!.at;
      await sql`UPDATE collections SET last_date_added = ${ahead}::timestamptz WHERE id = ${col.collectionId}`.execute(db);
      await old.stop();
      old = undefined;

      upgraded = await startTestNode({}, database);
      const o = indicator();
      await asWriter(upgraded.database.db, col.collectionId, 120, (tx) => insertObjects(tx, col.collectionId, [asNew(o)]));
      const [row] = await selectManifest(upgraded.database.db, col.collectionId, { ids: [o.id], audience: { kind: 'admin' } }, 1);
      expect(row!.date_added > ahead).toBe(true);
    } finally {
      await old?.stop();
      await upgraded?.stop();
      await database.drop();
    }
  });
});
