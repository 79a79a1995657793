import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertReports } from '../../src/store/sightings.ts';
import { capturedLog, onPostgres, startTestNode, testDatabase } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, indicator, postObjects } from '../support/stix.ts';
import { readCollection } from '../support/taxii-read.ts';

// docs/sightings.md, "When": replicas on one database share the aggregation job, each family
// (indicator and day) taken by one at a time. Two nodes aggregate every 20 ms while reports of
// six clients (five organisations) arrive at both at once. A trigger of this test's own records
// which transaction published each report and stored each aggregate version, so every version is
// checked against the deltas it rests on. PGlite is one process's database: PostgreSQL only.

const MIN_ORGS = 3;
/** Clients by organisation: two share one, one has none (it counts alone). */
const ORGANISATIONS = ['Hôpital A', 'Hôpital A', 'Klinikum B', 'Ospedale C', 'Hospital D', null];
/** Closed hours over two days, three in one day so that day-only deltas happen. */
const HOURS = ['2025-04-07T08', '2025-04-07T09', '2025-04-07T14', '2025-04-08T10'];
const REPORTS_PER_CLIENT = 16;

const ENV = {
  NODE_COUNTRY: 'fr',
  SIGHTINGS_TICK_MS: '20',
  SIGHTINGS_PER_MINUTE: '0',
  SIGHTINGS_MIN_ORGS: String(MIN_ORGS),
  LOG_LEVEL: 'warn',
};

/** A small deterministic PRNG (mulberry32), so a failure can be replayed with SEED. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
const SEED = Number(process.env.SEED ?? Date.now() % 1_000_000);

type Posted = { org: string; indicator: string; hour: string; count: number };
type Mark = {
  seq: string;
  published: string;
  xid: string;
  indicator_id: string;
  org_key: string;
  hour: string;
  day: string;
  count: number;
};
type Version = {
  id: string;
  xid: string;
  modified: string;
  indicator: string;
  size: 'hour' | 'day';
  start: string;
  count: number;
  orgs: number;
};

describe.skipIf(!onPostgres)('two replicas aggregating sightings at once (PostgreSQL only)', () => {
  let db: Awaited<ReturnType<typeof testDatabase>>;
  let keyDir: string;
  let a: TestNode;
  let b: TestNode;
  const logs = [capturedLog(), capturedLog()];

  beforeAll(async () => {
    db = await testDatabase();
    keyDir = mkdtempSync(path.join(tmpdir(), 'vigil-keys-'));
    // One node, one identity: replicas share KEY_DIR (docs/operating.md), so aggregate ids agree.
    a = await startTestNode({ ...ENV, KEY_DIR: keyDir }, db, { log: logs[0]!.log });
    b = await startTestNode({ ...ENV, KEY_DIR: keyDir }, db, { log: logs[1]!.log });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  /** Waits until no family is due and neither replica has a pass under way. */
  async function settled(): Promise<void> {
    for (let i = 0; i < 600; i++) {
      await Promise.all([a.deps.sightings.drain(), b.deps.sightings.drain()]);
      const due = await sql<{ n: number }>`SELECT count(*)::int AS n FROM sighting_work WHERE due <= clock_timestamp()`.execute(
        a.database.db,
      );
      if (due.rows[0]!.n === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('families still due after 30 s');
  }

  it('publish every delta once, with exact counts and a consistent version history, never below the minimum', async () => {
    const random = prng(SEED);
    const store = a.database.db;
    // The test's own record of who published what, in which transaction (xid modulo 2^32, as xmin).
    await sql`CREATE TABLE test_marks (seq bigint, published text, xid bigint, at timestamptz DEFAULT clock_timestamp())`.execute(store);
    await sql`CREATE TABLE test_versions (id text, version_key timestamptz, collection_id uuid, xid bigint)`.execute(store);
    await sql`CREATE FUNCTION test_mark() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        INSERT INTO test_marks (seq, published, xid) VALUES (NEW.seq, NEW.published, txid_current()); RETURN NEW; END $$`.execute(store);
    await sql`CREATE TRIGGER test_mark AFTER UPDATE ON sighting_reports FOR EACH ROW WHEN (NEW.published IS NOT NULL)
        EXECUTE FUNCTION test_mark()`.execute(store);
    await sql`CREATE FUNCTION test_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        INSERT INTO test_versions VALUES (NEW.id, NEW.version_key, NEW.collection_id, txid_current()); RETURN NEW; END $$`.execute(store);
    await sql`CREATE TRIGGER test_version AFTER INSERT ON objects FOR EACH ROW WHEN (NEW.type = 'sighting')
        EXECUTE FUNCTION test_version()`.execute(store);

    const col = await adminJson(a, 'POST', '/admin/collections', { api_root: 'default', title: 'sightings on two replicas' });
    const base = `/default/collections/${col.id}`;
    const indicators = [1, 2, 3].map((n) => indicator({ pattern: `[ipv4-addr:value = '198.51.100.${n}']` }));
    expect((await postObjects(a, base, indicators)).success_count).toBe(3);
    const clients: { id: string; token: string; org: string; organisation: string | null }[] = [];
    for (const [i, organisation] of ORGANISATIONS.entries()) {
      const c = await adminJson(a, 'POST', '/admin/clients', {
        name: `reporter-${i}-${SEED}`,
        clearance: 'AMBER',
        ...(organisation ? { organisation } : {}),
        grants: [{ collection_id: col.id, can_read: true, can_write: true }],
      });
      clients.push({ id: c.id, token: c.token, organisation, org: organisation ? `org:${organisation}` : `client:${c.id}` });
    }

    // Every client reports at once, each report to one replica or the other, while both aggregate.
    const posted: Posted[] = [];
    const plans = clients.map((c) =>
      Array.from({ length: REPORTS_PER_CLIENT }, () => ({
        client: c,
        node: random() < 0.5 ? a : b,
        indicator: indicators[Math.floor(random() * indicators.length)]!.id,
        hour: HOURS[Math.floor(random() * HOURS.length)]!,
        count: 1 + Math.floor(random() * 5),
        minute: Math.floor(random() * 60),
      })),
    );
    await Promise.all(
      plans.map(async (plan) => {
        for (const p of plan) {
          const seen = `${p.hour}:${String(p.minute).padStart(2, '0')}:00Z`;
          const res = await p.node.request('/sightings', {
            method: 'POST',
            token: p.client.token,
            headers: { 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify({ indicator: p.indicator, count: p.count, first_seen: seen, last_seen: seen }),
          });
          expect(res.status, await res.clone().text()).toBe(201);
          posted.push({ org: p.client.org, indicator: p.indicator, hour: p.hour, count: p.count });
        }
      }),
    );
    await settled();
    // Then three organisations' reports of every indicator and hour in one statement: every hour's
    // waiting reports are then safe together, so in the end every report is published.
    const trio = [clients[0]!, clients[2]!, clients[3]!];
    const sweep = indicators.flatMap((i) =>
      HOURS.flatMap((hour) => trio.map((c) => ({ org: c.org, indicator: i.id, hour, count: 1, client: c }))),
    );
    await insertReports(
      store,
      sweep.map((s) => ({
        client_id: s.client.id,
        organisation: s.client.organisation,
        org_key: s.org,
        indicator_id: s.indicator,
        collection_id: col.id,
        count: 1,
        first_seen: `${s.hour}:30:00Z`,
        last_seen: `${s.hour}:30:00Z`,
        shareable: false,
        via: 'api' as const,
      })),
    );
    a.deps.sightings.kick();
    b.deps.sightings.kick();
    await settled();
    posted.push(...sweep.map(({ client: _, ...s }) => s));

    for (const l of logs)
      expect(
        l.lines.filter((x) => Number(x.level) >= 50),
        `seed ${SEED}`,
      ).toEqual([]);

    // Every report is recorded, and published exactly once.
    const marks = (
      await sql<Mark>`SELECT m.seq::text AS seq, m.published, m.xid::text AS xid, r.indicator_id, r.org_key, r.count,
          to_char(r.hour_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24') AS hour, to_char(r.day_start AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day
        FROM test_marks m JOIN sighting_reports r ON r.seq = m.seq ORDER BY m.seq`.execute(store)
    ).rows;
    const reports = (
      await sql<{ n: number; unpublished: number }>`SELECT count(*)::int AS n,
        count(*) FILTER (WHERE published IS NULL)::int AS unpublished FROM sighting_reports`.execute(store)
    ).rows[0]!;
    expect(reports).toEqual({ n: posted.length, unpublished: 0 });
    expect(marks).toHaveLength(posted.length);
    expect(new Set(marks.map((m) => m.seq)).size, `a report published twice (seed ${SEED})`).toBe(marks.length);

    // Every aggregate version stored, with the transaction that stored it.
    const versions = (
      await sql<Version>`SELECT v.id, (v.xid % 4294967296)::text AS xid,
          to_char(v.version_key AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS modified,
          o.object->>'sighting_of_ref' AS indicator, o.object->'x_vigil_bucket'->>'size' AS size,
          o.object->'x_vigil_bucket'->>'start' AS start, (o.object->>'count')::int AS count, (o.object->>'x_vigil_organisations')::int AS orgs
        FROM test_versions v JOIN objects o ON (o.collection_id, o.id, o.version_key) = (v.collection_id, v.id, v.version_key)
        WHERE o.collection_id = ${col.id}::uuid AND o.object ? 'x_vigil_bucket' ORDER BY v.id, v.version_key`.execute(store)
    ).rows;
    const xidOf = (m: Mark) => String(BigInt(m.xid) % 4_294_967_296n);
    const orgsOf = (ms: Mark[]) => new Set(ms.map((m) => m.org_key)).size;
    /** The reports a run (transaction) published into a bucket: an hour takes 'hour' ones, a day both. */
    const delta = (v: Pick<Version, 'indicator' | 'size' | 'start'>, xid: string) =>
      marks.filter(
        (m) =>
          xidOf(m) === xid &&
          m.indicator_id === v.indicator &&
          (v.size === 'hour' ? m.published === 'hour' && v.start.startsWith(m.hour) : v.start.startsWith(m.day)),
      );

    // Each run's deltas are safe: each hour's, and what it put in the day only.
    for (const xid of new Set(marks.map(xidOf))) {
      const run = marks.filter((m) => xidOf(m) === xid);
      for (const key of new Set(run.map((m) => `${m.indicator_id} ${m.published} ${m.published === 'hour' ? m.hour : m.day}`))) {
        const part = run.filter((m) => `${m.indicator_id} ${m.published} ${m.published === 'hour' ? m.hour : m.day}` === key);
        expect(orgsOf(part), `delta ${key} (seed ${SEED})`).toBeGreaterThanOrEqual(MIN_ORGS);
      }
    }

    const byId = new Map<string, Version[]>();
    for (const v of versions) byId.set(v.id, [...(byId.get(v.id) ?? []), v]);
    const buckets = new Set<string>();
    for (const [id, history] of byId) {
      const v0 = history[0]!;
      buckets.add(`${v0.indicator} ${v0.size} ${v0.start}`);
      // One stored version per modified, and one per run: no run published a bucket twice.
      expect(new Set(history.map((v) => v.modified)).size, `${id} (seed ${SEED})`).toBe(history.length);
      expect(new Set(history.map((v) => v.xid)).size, `${id} (seed ${SEED})`).toBe(history.length);
      let cumulative: Mark[] = [];
      for (const v of history) {
        const d = delta(v, v.xid);
        // A version only for a delta, the difference from the version before safe, the figures exactly the union so far.
        expect(orgsOf(d), `${id} at ${v.modified}: the difference (seed ${SEED})`).toBeGreaterThanOrEqual(MIN_ORGS);
        cumulative = [...cumulative, ...d];
        expect({ count: v.count, orgs: v.orgs }, `${id} at ${v.modified} (seed ${SEED})`).toEqual({
          count: cumulative.reduce((n, m) => n + m.count, 0),
          orgs: orgsOf(cumulative),
        });
      }
      // No delta left out: every run that published into the bucket made a version of it (no lost update).
      const runs = new Set(marks.map(xidOf).filter((x) => delta(v0, x).length > 0));
      expect(new Set(history.map((v) => v.xid)), `${id} (seed ${SEED})`).toEqual(runs);
    }

    // Independently of the node: each day's latest version counts every report of the day, and
    // the hours' and the day-only deltas add up to it; each bucket is one id.
    const latest = new Map([...byId.values()].map((h) => [`${h[0]!.indicator} ${h[0]!.size} ${h[0]!.start}`, h.at(-1)!]));
    expect(latest.size).toBe(byId.size);
    for (const i of indicators)
      for (const day of new Set(HOURS.map((h) => h.slice(0, 10)))) {
        const ofDay = posted.filter((p) => p.indicator === i.id && p.hour.startsWith(day));
        const v = latest.get(`${i.id} day ${day}T00:00:00.000000Z`);
        expect({ count: v?.count, orgs: v?.orgs }, `${i.id} ${day} (seed ${SEED})`).toEqual({
          count: ofDay.reduce((n, p) => n + p.count, 0),
          orgs: new Set(ofDay.map((p) => p.org)).size,
        });
        const hours = [...latest.values()].filter((h) => h.indicator === i.id && h.size === 'hour' && h.start.startsWith(day));
        const dayOnly = marks.filter((m) => m.indicator_id === i.id && m.day === day && m.published === 'day');
        expect(hours.reduce((n, h) => n + h.count, 0) + dayOnly.reduce((n, m) => n + m.count, 0)).toBe(v?.count);
      }

    // What TAXII serves is each bucket's latest version, and the node's record agrees with it.
    const served = (await readCollection(a, base)).objects.filter((o) => o.type === 'sighting');
    expect(served.map((o) => [o.id, o.count]).sort()).toEqual([...byId].map(([id, h]) => [id, h.at(-1)!.count]).sort());
    const recorded = (
      await sql<{ stix_id: string; count: number }>`SELECT stix_id, count::int AS count FROM sighting_aggregates`.execute(store)
    ).rows;
    expect(recorded.map((r) => [r.stix_id, r.count]).sort()).toEqual([...byId].map(([id, h]) => [id, h.at(-1)!.count]).sort());
  });
});
