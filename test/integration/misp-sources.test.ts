import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MISP_OVERLAP_SECONDS } from '../../src/services/pull-misp.ts';
import { claimSource } from '../../src/store/sources.ts';
import { runVigil } from '../support/cli.ts';
import { ADMIN_TOKEN, capturedLog, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { pullAsReplica, sourceRow, takeOver, versionCounts } from '../support/sources.ts';
import { eventObject, fixtureEvent, startMispServer } from '../support/misp-server.ts';
import type { MispServer } from '../support/misp-server.ts';
import { adminJson } from '../support/stix.ts';

// MISP sources against a server that answers restSearch as MISP does (test/support/misp-server.ts),
// serving events in the shape of MISP's own STIX 2.1 export (test/fixtures/misp/).

const TLP_RED = 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed';
const TLP_GREEN = 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da';
const TLP2_AMBER_STRICT = 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003';

const E1 = 'event-1-tlp-red-label.json';
const E2 = 'event-2-amber-strict-marking.json';
const E2B = 'event-2-updated.json';
const E3 = 'event-3-unmarked.json';

const T1 = Date.parse('2025-03-01T10:00:00Z') / 1000;
const T2B = Date.parse('2025-03-05T08:30:00Z') / 1000;
const T3 = Date.parse('2025-03-03T12:00:00Z') / 1000;

// Ids of the fixtures' objects, by what they show.
const RED_EVENT_INDICATOR = 'indicator--7c1e2b44-9d0a-4f3e-8b5c-2a6d1e9f0c31';
const RED_EVENT_SCO = 'ipv4-addr--7c1e2b44-9d0a-4f3e-8b5c-2a6d1e9f0c31';
const RED_EVENT = 'grouping--3e9a6c10-52b8-4d7f-a1e4-8c0f2b5d9a76';
const STRICT_EVENT = 'report--9b2e4f6a-1c3d-4e5f-8a7b-0c9d8e7f6a5b';
const OWN_GREEN = 'indicator--c2d58e71-0f4a-4b3c-9d86-e1a7b3f52c08';
const STRICT_UNMARKED = 'indicator--f81b36a9-4c2d-4e70-8a15-6b9c0d3e7f24';
const ADDED_LATER = 'indicator--0e4a7b9c-2d1f-4a8e-b3c6-5f7d9e1a2b4c';
const UNMARKED = 'indicator--4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d';
const OWN_STRICT_LABEL = 'indicator--8c9d0e1f-2a3b-4c4d-8e5f-6a7b8c9d0e1f';
const ORG = 'identity--5f0e8a1c-3b7d-4c2a-9e61-0a4d8b2c7f13';

let node: TestNode;
let misp: MispServer;
const logged = capturedLog();

beforeAll(async () => {
  node = await startTestNode({ NODE_ID: 'node-a', PULL_TICK_MS: '0', LOG_LEVEL: 'info' }, undefined, { log: logged.log });
  misp = await startMispServer();
});

afterAll(async () => {
  await node?.stop();
  await misp?.close();
});

beforeEach(() => {
  misp.events = [fixtureEvent(E1), fixtureEvent(E2), fixtureEvent(E3)];
  misp.behaviour = {};
  misp.requests.length = 0;
});

async function source(body: Record<string, unknown> = {}) {
  const col = (await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: 'from MISP' })).id as string;
  const s = await adminJson(node, 'POST', '/admin/sources', { kind: 'misp', url: misp.url, key: misp.key, collection_id: col, ...body });
  if (!s.id) throw new Error(JSON.stringify(s));
  return { id: s.id as string, col, answer: s };
}

const state = (id: string) => sourceRow(node.database.db, id);

/** How many versions of each id the collection holds. */
const held = (col: string) => versionCounts(node.database.db, col);

const versions = async (col: string, id: string) => (await adminJson(node, 'GET', `/admin/collections/${col}/objects/${id}`)).versions;
const levelOf = async (col: string, id: string) => (await versions(col, id))[0].tlp_level as string;
const stored = async (col: string, id: string) =>
  JSON.parse(
    (
      await sql<{ json: string }>`SELECT object::text AS json FROM objects WHERE collection_id = ${col} AND id = ${id}
        ORDER BY date_added DESC LIMIT 1`.execute(node.database.db)
    ).rows[0]!.json,
  );

const fixtureIds = (...names: string[]) => [...new Set(names.flatMap((n) => fixtureEvent(n).objects.map((o) => o.id as string)))].sort();

describe('pulling a MISP', () => {
  it('stores every page of events, each object once, asks until a page has no event, and moves the cursor to the latest event', async () => {
    const { id, col } = await source();
    const outcome = await node.deps.puller.pullNow(id, { pageLimit: 2 });
    expect(outcome).toMatchObject({ ok: true, pages: 2 });
    const counts = await held(col);
    expect(Object.keys(counts).sort()).toEqual(fixtureIds(E1, E2, E3));
    // The organisation comes with every event, on both pages: stored once.
    expect(Object.values(counts).every((n) => n === 1)).toBe(true);
    expect(misp.requests.map((r) => r.body)).toEqual(
      [1, 2, 3].map((page) => ({ returnFormat: 'stix2', 'stix-version': '2.1', limit: 2, page })),
    );
    expect(misp.requests.every((r) => r.path === '/events/restSearch' && r.authorization === misp.key)).toBe(true);
    expect(misp.requests[0]!.accept).toBe('application/json');
    // The latest event timestamp seen (event 3's, though event 2's page came first).
    expect((await state(id)).cursor).toBe(`timestamp=${T3}`);
  });

  it('asks only for events changed since the cursor next time, and takes an event changed after the first pull', async () => {
    const { id, col } = await source();
    expect(await node.deps.puller.pullNow(id)).toMatchObject({ ok: true, pages: 1 });
    misp.requests.length = 0;
    misp.events[1] = fixtureEvent(E2B);
    const outcome = await node.deps.puller.pullNow(id);
    expect(misp.requests[0]!.body.timestamp).toBe(String(T3 - MISP_OVERLAP_SECONDS));
    // Event 3 again (within the overlap), and the changed event 2: its new version and its new attribute.
    expect(outcome).toMatchObject({ ok: true, pages: 1, stored: 2 });
    expect((await held(col))[STRICT_EVENT]).toBe(2);
    expect((await held(col))[ADDED_LATER]).toBe(1);
    expect((await state(id)).cursor).toBe(`timestamp=${T2B}`);
    expect(await levelOf(col, ADDED_LATER)).toBe('AMBER+STRICT');
  });

  it('resumes a run cut short at the page after the last one stored, with the same time filter', async () => {
    const { id, col } = await source({ since: T1 });
    expect(await node.deps.puller.pullNow(id, { pageLimit: 1, maxPages: 2 })).toMatchObject({ ok: true, pages: 2, more: true });
    expect((await state(id)).cursor).toBe(`timestamp=${T1}&page=3&latest=${Date.parse('2025-03-02T14:30:00Z') / 1000}`);
    misp.requests.length = 0;
    expect(await node.deps.puller.pullNow(id, { pageLimit: 1 })).toMatchObject({ ok: true, pages: 1 });
    expect(misp.requests.map((r) => [r.body.page, r.body.timestamp])).toEqual([
      [3, String(T1 - MISP_OVERLAP_SECONDS)],
      [4, String(T1 - MISP_OVERLAP_SECONDS)],
    ]);
    expect(Object.keys(await held(col)).sort()).toEqual(fixtureIds(E1, E2, E3));
    expect((await state(id)).cursor).toBe(`timestamp=${T3}`);
  });

  it('asks for published events by publish_timestamp, and for tags, when the source says so', async () => {
    misp.events = [fixtureEvent(E1, { tags: ['tlp:red', 'sector:health'], published: true }), fixtureEvent(E3, { published: false })];
    const { id, col, answer } = await source({
      tags: ['sector:health', 'ransomware'],
      published_only: true,
      since: '2025-01-01T00:00:00Z',
    });
    expect(answer).toMatchObject({ tags: ['ransomware', 'sector:health'], published_only: true });
    expect(await node.deps.puller.pullNow(id)).toMatchObject({ ok: true });
    const since = String(Date.parse('2025-01-01T00:00:00Z') / 1000 - MISP_OVERLAP_SECONDS);
    expect(misp.requests[0]!.body).toEqual({
      returnFormat: 'stix2',
      'stix-version': '2.1',
      limit: 20,
      page: 1,
      publish_timestamp: since,
      published: true,
      tags: ['ransomware', 'sector:health'],
    });
    expect(Object.keys(await held(col)).sort()).toEqual(fixtureIds(E1));
  });
});

describe("MISP's TLP", () => {
  it('gives objects without a TLP marking the TLP MISP stated for them, keeps markings, and applies the default only where MISP said nothing', async () => {
    const { id, col, answer } = await source();
    expect(answer.default_tlp).toBe('AMBER');
    await node.deps.puller.pullNow(id);
    // A tlp:red tag that came out as a label: the event and what it lists are marked RED.
    expect(await levelOf(col, RED_EVENT)).toBe('RED');
    expect(await levelOf(col, RED_EVENT_INDICATOR)).toBe('RED');
    expect(await levelOf(col, RED_EVENT_SCO)).toBe('RED');
    expect((await stored(col, RED_EVENT_INDICATOR)).object_marking_refs).toEqual([TLP_RED]);
    // A marked event: its marking kept, its unmarked attribute given it; an attribute's own marking kept.
    expect(await levelOf(col, STRICT_EVENT)).toBe('AMBER+STRICT');
    expect(await levelOf(col, STRICT_UNMARKED)).toBe('AMBER+STRICT');
    expect((await stored(col, STRICT_UNMARKED)).object_marking_refs).toEqual([TLP2_AMBER_STRICT]);
    expect(await levelOf(col, OWN_GREEN)).toBe('GREEN');
    expect((await stored(col, OWN_GREEN)).object_marking_refs).toEqual([TLP_GREEN]);
    // An attribute's own tlp:amber+strict label.
    expect(await levelOf(col, OWN_STRICT_LABEL)).toBe('AMBER+STRICT');
    // Nothing said: the source's default, and the object as MISP sent it.
    expect(await levelOf(col, UNMARKED)).toBe('AMBER');
    const sent = fixtureEvent(E3).objects.find((o) => o.id === UNMARKED);
    expect(await stored(col, UNMARKED)).toEqual(sent);
    expect(await levelOf(col, ORG)).toBe('AMBER');
  });

  it('never relaxes what MISP stated: a CLEAR default applies only to what MISP left without TLP', async () => {
    const { id, col } = await source({ default_tlp: 'CLEAR' });
    await node.deps.puller.pullNow(id);
    expect(await levelOf(col, RED_EVENT_INDICATOR)).toBe('RED');
    expect(await levelOf(col, STRICT_UNMARKED)).toBe('AMBER+STRICT');
    expect(await levelOf(col, OWN_STRICT_LABEL)).toBe('AMBER+STRICT');
    expect(await levelOf(col, UNMARKED)).toBe('CLEAR');
  });

  it('shows where each version came from: the source, the restSearch URL and when, signed here as taken in', async () => {
    const { id, col } = await source();
    await node.deps.puller.pullNow(id);
    const [v] = await versions(col, UNMARKED);
    expect(v).toMatchObject({
      received_from: `source/${id}`,
      origin_node: 'node-a',
      intake: { kind: 'misp', url: `${misp.url}events/restSearch` },
    });
  });
});

describe('what MISP may answer', () => {
  it("records MISP's 403 as authentication refused, backs off, and never shows or logs the key", async () => {
    const wrong = 'Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo8Nn7M';
    const { id } = await source({ key: wrong });
    const outcome = await node.deps.puller.pullNow(id);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'auth-refused' } });
    expect(misp.requests[0]!.authorization).toBe(wrong);
    const s = await state(id);
    expect(s.last_error).toMatch(/^auth-refused: authentication refused: MISP answered 403: Authentication failed\./);
    expect(s.consecutive_failures).toBe(1);
    expect(s.wait).toBeGreaterThan(1);
    const shown = await node.request(`/admin/sources/${id}`, { headers: { accept: 'application/json' } });
    const listed = await node.request('/admin/sources', { headers: { accept: 'application/json' } });
    const cli = await vigil(['source', 'show', id], false);
    const cliList = await vigil(['source', 'list'], false);
    expect(cli.stdout).toContain('authentication refused');
    for (const text of [await shown.text(), await listed.text(), cli.stdout, cliList.stdout, JSON.stringify(logged.lines)])
      expect(text).not.toContain(wrong);
    expect(JSON.stringify(logged.lines)).toContain('authentication refused');
  });

  it('keeps the key out of the error when a server echoes it', async () => {
    misp.behaviour = { status: { code: 500, contentType: 'application/json', body: JSON.stringify({ message: `bad key ${misp.key}` }) } };
    const { id } = await source();
    expect(await node.deps.puller.pullNow(id)).toMatchObject({ ok: false, error: { code: 'http-status' } });
    const s = await state(id);
    expect(s.last_error).toBe('http-status: MISP answered 500, not 200: bad key …');
  });

  it.each([
    ['not JSON', { text: '{"type": "bundle", "objects": [', contentType: 'application/json' }, /^malformed: the answer is not JSON/],
    [
      'a login page',
      { text: '<html>Login</html>', contentType: 'text/html; charset=UTF-8' },
      /^malformed: MISP answered text\/html, not JSON/,
    ],
    [
      'MISP JSON, not a bundle',
      { text: '{"response": []}', contentType: 'application/json' },
      /^malformed: the answer is not a STIX bundle: type: /,
    ],
    [
      'a bundle of objects without an event',
      {
        text: JSON.stringify({
          type: 'bundle',
          id: 'bundle--1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b',
          objects: [{ type: 'identity', id: ORG }],
        }),
        contentType: 'application/json',
      },
      /^malformed: the bundle holds objects but no event/,
    ],
    [
      'a STIX 2.0 bundle',
      {
        text: JSON.stringify({ type: 'bundle', id: 'bundle--1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b', spec_version: '2.0', objects: [] }),
        contentType: 'application/json',
      },
      /^unsupported-version: MISP answered a STIX 2\.0 bundle/,
    ],
  ])('records %s as an error: nothing stored, the cursor kept', async (_, body, message) => {
    misp.behaviour = { body };
    const { id, col } = await source({ since: T1 });
    const outcome = await node.deps.puller.pullNow(id);
    expect(outcome).toMatchObject({ ok: false, stored: 0 });
    const s = await state(id);
    expect(s.last_error).toMatch(message);
    expect(s.cursor).toBe(`timestamp=${T1}`);
    expect(await held(col)).toEqual({});
  });

  it('refuses an answer larger than the limit before parsing it', async () => {
    const { id, col } = await source();
    const outcome = await node.deps.puller.pullNow(id, { limits: { maxBytes: 2048 } });
    expect(outcome).toMatchObject({ ok: false, error: { code: 'too-large' } });
    expect(await held(col)).toEqual({});
    expect((await state(id)).cursor).toBe(null);
  });

  it('stores what is valid of a page and records the objects it refuses', async () => {
    const broken = { ...eventObject(fixtureEvent(E3)) };
    const bad = { type: 'indicator', spec_version: '2.1', id: 'indicator--b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e', pattern: '[oops' };
    misp.events = [{ objects: [...fixtureEvent(E3).objects, bad, { type: 'x' }] }];
    const { id, col } = await source();
    expect(await node.deps.puller.pullNow(id)).toMatchObject({ ok: true, stored: fixtureIds(E3).length });
    expect((await held(col))[broken.id as string]).toBe(1);
    const refusals = logged.lines.filter((l) => l.msg === 'pulled objects were refused' && l.source === id);
    expect(JSON.stringify(refusals)).toContain(bad.id);
  });
});

describe('replicas and restarts', () => {
  it('stores nothing from a run whose lease another replica took over meanwhile; that replica stores each object once', async () => {
    misp.behaviour = { delayMs: 400 };
    const { id, col } = await source();
    const db = node.database.db;
    const run = node.deps.puller.pullNow(id);
    await new Promise((r) => setTimeout(r, 100));
    // While this replica runs, another cannot claim the source; once its lease seems to have run out, it can.
    expect(await claimSource(db, '00000000-0000-4000-8000-000000000002', 120, id)).toBeUndefined();
    const other = await takeOver(db, id);
    expect(await run).toMatchObject({ ok: false, stored: 0, error: { code: 'lease-lost' } });
    expect(await held(col)).toEqual({});
    expect((await state(id)).cursor).toBe(null);
    misp.behaviour = {};
    expect(await pullAsReplica(node.deps, other)).toMatchObject({ ok: true });
    const counts = await held(col);
    expect(Object.keys(counts).sort()).toEqual(fixtureIds(E1, E2, E3));
    expect(Object.values(counts).every((n) => n === 1)).toBe(true);
    expect((await state(id)).cursor).toBe(`timestamp=${T3}`);
  });
});

const vigil = (args: string[], json = true, stdin = '') =>
  runVigil([...(json ? ['--json'] : []), ...args], { env: { VIGIL_URL: node.url, ADMIN_TOKEN }, stdin });

describe('adding a MISP source', () => {
  const post = (body: Record<string, unknown>) =>
    node.request('/admin/sources', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });

  it('answers what it stores, never the key: AMBER for unmarked objects, every 300 s, no filters', async () => {
    const { answer } = await source();
    expect(answer).toMatchObject({
      kind: 'misp',
      url: misp.url,
      remote_collection_id: 'events',
      tags: [],
      published_only: false,
      default_tlp: 'AMBER',
      interval_seconds: 300,
      cursor: null,
    });
    expect(JSON.stringify(answer)).not.toContain(misp.key);
  });

  it.each([
    [{ key: 'short' }, /^key: must be a MISP authkey/],
    [{ key: undefined }, /^key: /],
    [{ url: 'http://misp.example.org/' }, /url: must be an https:\/\/ URL/],
    [{ tags: ['a,b'] }, /^tags\.0: must hold no ","/],
    [{ tags: [] }, /^tags: /],
    [{ since: 'yesterday' }, /^since: must be seconds since the epoch or a UTC timestamp/],
    [{ default_tlp: 'PURPLE' }, /^default_tlp: /],
    [{ kind: 'misp2' }, /kind: must be "peer", "taxii" or "misp"/],
  ])('refuses %j with a 400 that names the field', async (over, message) => {
    const col = (await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: 'refused' })).id;
    const res = await post({ kind: 'misp', url: misp.url, key: misp.key, collection_id: col, ...over });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { description: string }).description).toMatch(message);
  });

  it('takes one MISP with the same filters into one collection once', async () => {
    const { col } = await source({ tags: ['b', 'a'] });
    expect((await post({ kind: 'misp', url: misp.url, key: misp.key, collection_id: col, tags: ['a', 'b'] })).status).toBe(409);
    expect((await post({ kind: 'misp', url: misp.url, key: misp.key, collection_id: col, tags: ['a'] })).status).toBe(201);
  });

  it('vigil source add misp: the key from standard input, the options as the issue spells them', async () => {
    const col = (await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: 'cli' })).id as string;
    const args = ['source', 'add', 'misp', '--url', misp.url, '--key-file', '-', '--into', col, '--tags', 'tlp:green, sector:health'];
    const added = await vigil(
      [...args, '--published-only', '--default-tlp', 'RED', '--interval', '600', '--since', String(T1)],
      true,
      `${misp.key}\n`,
    );
    expect(added.code, added.stderr).toBe(0);
    const shown = JSON.parse(added.stdout);
    expect(shown).toMatchObject({
      kind: 'misp',
      url: misp.url,
      tags: ['sector:health', 'tlp:green'],
      published_only: true,
      default_tlp: 'RED',
      interval_seconds: 600,
      cursor: `timestamp=${T1}`,
    });
    expect(added.stdout).not.toContain(misp.key);
    const row = await sql<{ auth_secret: string }>`SELECT auth_secret FROM sources WHERE id = ${shown.id}`.execute(node.database.db);
    expect(row.rows[0]!.auth_secret).toBe(misp.key);
    const both = await vigil(['source', 'add', 'misp', '--url', misp.url, '--key', misp.key, '--key-file', '-', '--into', col]);
    expect(both.code).toBe(2);
    const none = await vigil(['source', 'add', 'misp', '--url', misp.url, '--into', col]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/--key-file/);
  });
});
