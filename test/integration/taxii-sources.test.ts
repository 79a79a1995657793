import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLog } from '../../src/log.ts';
import { ADMIN_TOKEN, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { pullAsReplica, sourceRow, takeOver, versionCounts } from '../support/sources.ts';
import { adminJson, indicator } from '../support/stix.ts';
import { addTaxiiSource, startTaxiiFeed } from '../support/taxii-feed.ts';
import type { FeedObject, TaxiiFeed } from '../support/taxii-feed.ts';

// TAXII sources against a server that behaves like those real feeds run on (test/support/taxii-feed.ts):
// no `next`, date_added to the millisecond with ties, pages smaller than asked, `more` left out,
// `{}`, a 401, a TAXII 2.0 server, Retry-After.

const GREEN = 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da';
const RED = 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed';
const SECRET = 'feed-secret-4f1c9a7e0b2d';

let node: TestNode;
let feed: TaxiiFeed;
const logged: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logged.push(String(chunk));
      done();
    },
  });
  node = await startTestNode({ NODE_ID: 'node-a', PULL_TICK_MS: '0', LOG_LEVEL: 'info' }, undefined, {
    log: (config) => createLog(config, sink),
  });
  feed = await startTaxiiFeed();
});

afterAll(async () => {
  await node?.stop();
  await feed?.close();
});

beforeEach(() => {
  feed.objects = [];
  feed.behaviour = {};
  feed.requests.length = 0;
});

const at = (ms: number) => new Date(Date.UTC(2025, 2, 1, 10, 0, 0, ms)).toISOString();
const feedObject = (ms: number, over: Record<string, unknown> = {}): FeedObject => ({
  object: indicator({ object_marking_refs: [GREEN], ...over }),
  dateAdded: at(ms),
});

const source = (body: Record<string, unknown> = {}) => addTaxiiSource(node, feed, body);

const state = (id: string) => sourceRow(node.database.db, id);

/** How many versions of each id the collection holds. */
const held = (col: string) => versionCounts(node.database.db, col);

const levelOf = async (col: string, id: string) =>
  (await adminJson(node, 'GET', `/admin/collections/${col}/objects/${id}`)).versions[0].tlp_level as string;

describe('pulling a real-world TAXII 2.1 feed', () => {
  it('pages by X-TAXII-Date-Added-Last without `next`, pages smaller than asked and `more` left out, losing nothing tied at a page boundary and storing nothing twice', async () => {
    // Three objects a page at most (the puller asks 1,000); two share the last millisecond of the first page.
    feed.behaviour = { maxPage: 3, moreAbsent: true };
    feed.objects = [feedObject(1), feedObject(2), feedObject(3), feedObject(3), feedObject(4), feedObject(5), feedObject(6)];
    const { id, col } = await source();
    const outcome = await node.deps.puller.pullNow(id);
    expect(outcome).toMatchObject({ ok: true });
    const counts = await held(col);
    expect(Object.keys(counts).sort()).toEqual(feed.objects.map((o) => o.object.id).sort());
    expect(Object.values(counts).every((n) => n === 1)).toBe(true);
    expect(outcome!.stored).toBe(7);
    // The cursor is the last date_added once nothing is left; nothing is new, and the server says so with `{}`.
    expect((await state(id)).cursor).toBe(at(6));
    expect(feed.requests.map((r) => new URLSearchParams(r.search).get('added_after'))).toEqual([
      null,
      '2025-03-01T10:00:00.002Z', // one millisecond before the first page's last: the tie on the next page is asked for
      '2025-03-01T10:00:00.003Z',
    ]);
    expect(await node.deps.puller.pullNow(id)).toMatchObject({ ok: true, pages: 0, stored: 0 });
    feed.objects.push(feedObject(9));
    expect(await node.deps.puller.pullNow(id)).toMatchObject({ ok: true, pages: 1, stored: 1 });
  });

  it('follows `next` while `more` says so, with the same added_after, through a page full of one millisecond', async () => {
    feed.behaviour = { maxPage: 2, next: true };
    feed.objects = [feedObject(1), feedObject(7), feedObject(7), feedObject(7), feedObject(7), feedObject(8)];
    const { id, col } = await source({ since: at(0) });
    expect(await node.deps.puller.pullNow(id)).toMatchObject({ ok: true, pages: 3, stored: 6 });
    expect(Object.keys(await held(col))).toHaveLength(6);
    const asked = feed.requests.map((r) => new URLSearchParams(r.search));
    expect(asked.map((q) => q.get('added_after'))).toEqual([at(0), at(0), at(0)]);
    expect(asked.map((q) => q.get('next'))).toEqual([null, '2', '4']);
    expect((await state(id)).cursor).toBe(at(8));
  });

  it('records a clear error instead of asking forever when a page without `next` is all one millisecond', async () => {
    feed.behaviour = { maxPage: 2 };
    feed.objects = [feedObject(1), feedObject(2), feedObject(2), feedObject(2), feedObject(3)];
    const { id, col } = await source();
    const outcome = await node.deps.puller.pullNow(id);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'no-progress' } });
    expect(feed.requests.length).toBeLessThanOrEqual(3);
    const s = await state(id);
    expect(s.last_error).toMatch(/^no-progress: .*added at 2025-03-01T10:00:00\.002Z.*no `next`/);
    expect(s.consecutive_failures).toBe(1);
    // What was stored stays, and the cursor is where it can resume without losing the tie.
    expect(Object.keys(await held(col)).length).toBeGreaterThanOrEqual(2);
    expect(s.cursor).toBe('2025-03-01T10:00:00.001Z');
  });

  it('keeps the cursor where it was when storing a page fails, and loses nothing once it can store again', async () => {
    feed.behaviour = { maxPage: 2 };
    feed.objects = [feedObject(1), feedObject(2), feedObject(3), feedObject(4)];
    const { id, col } = await source();
    const doomed = feed.objects[2]!.object.id as string;
    const db = node.database.db;
    await sql`CREATE FUNCTION refuse_doomed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.id = ${sql.lit(doomed)} THEN RAISE EXCEPTION 'the disk is full'; END IF; RETURN NEW; END $$`.execute(db);
    await sql`CREATE TRIGGER refuse_doomed BEFORE INSERT ON objects FOR EACH ROW EXECUTE FUNCTION refuse_doomed()`.execute(db);
    try {
      const failed = await node.deps.puller.pullNow(id);
      expect(failed).toMatchObject({ ok: false, pages: 1, stored: 2 });
      // The first page is stored with its cursor; the second, refused whole, moved nothing.
      expect((await state(id)).cursor).toBe('2025-03-01T10:00:00.001Z');
      expect(Object.keys(await held(col))).toHaveLength(2);
    } finally {
      await sql`DROP TRIGGER refuse_doomed ON objects`.execute(db);
      await sql`DROP FUNCTION refuse_doomed()`.execute(db);
    }
    expect(await node.deps.puller.pullNow(id)).toMatchObject({ ok: true });
    const counts = await held(col);
    expect(Object.keys(counts)).toHaveLength(4);
    expect(Object.values(counts).every((n) => n === 1)).toBe(true);
  });

  it('stores nothing from a run whose lease another replica took over meanwhile; that replica stores each object once', async () => {
    feed.objects = [feedObject(1), feedObject(2)];
    feed.behaviour = { delayMs: 400 };
    const { id, col } = await source();
    const db = node.database.db;
    const run = node.deps.puller.pullNow(id);
    // This replica seems dead (its lease ran out) while the server is still answering it: another takes the source over.
    await new Promise((r) => setTimeout(r, 100));
    const other = await takeOver(db, id);
    expect(await run).toMatchObject({ ok: false, stored: 0, error: { code: 'lease-lost' } });
    expect(await held(col)).toEqual({});
    expect((await state(id)).cursor).toBe(null);
    feed.behaviour = {};
    expect(await pullAsReplica(node.deps, other)).toMatchObject({ ok: true, stored: 2 });
    expect(Object.values(await held(col))).toEqual([1, 1]);
    expect((await state(id)).cursor).toBe(at(2));
  });

  it('records a 401 as "authentication refused", and never writes the secret in the log or an answer', async () => {
    feed.behaviour = { auth: { header: 'authorization', value: 'Bearer the-right-token' } };
    feed.objects = [feedObject(1)];
    const { id, answer } = await source({ auth: { kind: 'bearer', token: SECRET } });
    expect(answer.auth).toEqual({ kind: 'bearer' });
    const outcome = await node.deps.puller.pullNow(id);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'auth-refused' } });
    expect(feed.requests[0]!.authorization).toBe(`Bearer ${SECRET}`);
    const s = await state(id);
    expect(s.last_error).toBe('auth-refused: authentication refused: the server answered 401');
    expect(s.wait).toBeGreaterThan(1); // backs off as any failure
    const shown = await node.request(`/admin/sources/${id}`, { headers: { accept: 'application/json' } });
    const listed = await node.request('/admin/sources', { headers: { accept: 'application/json' } });
    for (const text of [await shown.text(), await listed.text(), logged.join('')]) expect(text).not.toContain(SECRET);
    expect(logged.join('')).toContain('authentication refused');
  });

  it('sends Basic credentials and a header of the server’s own, showing the user and the header name only', async () => {
    feed.objects = [feedObject(1)];
    feed.behaviour = { auth: { header: 'authorization', value: `Basic ${Buffer.from(`reader:${SECRET}`).toString('base64')}` } };
    const basic = await source({ auth: { kind: 'basic', username: 'reader', password: SECRET } });
    expect(basic.answer.auth).toEqual({ kind: 'basic', username: 'reader' });
    expect(await node.deps.puller.pullNow(basic.id)).toMatchObject({ ok: true, stored: 1 });
    feed.behaviour = { auth: { header: 'x-api-key', value: SECRET } };
    const keyed = await source({ auth: { kind: 'header', name: 'X-Api-Key', value: SECRET } });
    expect(keyed.answer.auth).toEqual({ kind: 'header', name: 'X-Api-Key' });
    expect(await node.deps.puller.pullNow(keyed.id)).toMatchObject({ ok: true, stored: 1 });
    expect(JSON.stringify([basic.answer, keyed.answer])).not.toContain(SECRET);
  });

  it.each([
    ['refuses the TAXII 2.1 media type (406)', '2.0-406'],
    ['answers a STIX 2.0 bundle', '2.0-bundle'],
  ] as const)('says TAXII 2.0 is not supported when the server %s', async (_, version) => {
    feed.behaviour = { version };
    const { id } = await source();
    expect(await node.deps.puller.pullNow(id)).toMatchObject({ ok: false, error: { code: 'unsupported-version' } });
    expect((await state(id)).last_error).toMatch(/only TAXII 2\.1 servers are supported/);
  });

  it('waits as long as a 429 or 503 Retry-After asks', async () => {
    feed.behaviour = { status: { code: 429, retryAfter: '600' } };
    const { id } = await source();
    expect(await node.deps.puller.pullNow(id)).toMatchObject({ ok: false, error: { code: 'http-status' } });
    expect((await state(id)).wait).toBeGreaterThan(590);
  });

  it('refuses a page of objects without X-TAXII-Date-Added-Last: there is no telling where to resume', async () => {
    feed.behaviour = { noLastHeader: true };
    feed.objects = [feedObject(1)];
    const { id, col } = await source();
    expect(await node.deps.puller.pullNow(id)).toMatchObject({ ok: false, error: { code: 'malformed' } });
    expect((await state(id)).last_error).toMatch(/X-TAXII-Date-Added-Last/);
    expect(await held(col)).toEqual({});
  });

  it("classifies unmarked objects at the source's default TLP, without rewriting them, and marked ones by their marking", async () => {
    const unmarked = indicator();
    const red = indicator({ object_marking_refs: [RED] });
    feed.objects = [
      { object: unmarked, dateAdded: at(1) },
      { object: red, dateAdded: at(2) },
    ];
    const clear = await source({ default_tlp: 'CLEAR' });
    expect(clear.answer.default_tlp).toBe('CLEAR');
    expect(await node.deps.puller.pullNow(clear.id)).toMatchObject({ ok: true, stored: 2 });
    expect(await levelOf(clear.col, unmarked.id)).toBe('CLEAR');
    // RED from a server outside the federation breaks no rule: kept here, never relayed.
    expect(await levelOf(clear.col, red.id)).toBe('RED');
    const stored = await sql<{
      json: string;
    }>`SELECT object::text AS json FROM objects WHERE collection_id = ${clear.col} AND id = ${unmarked.id}`.execute(node.database.db);
    expect(JSON.parse(stored.rows[0]!.json)).toEqual(unmarked);
    // Without one, the collection's default (AMBER).
    const plain = await source();
    expect(plain.answer.default_tlp).toBe(null);
    await node.deps.puller.pullNow(plain.id);
    expect(await levelOf(plain.col, unmarked.id)).toBe('AMBER');
  });

  it("keeps the source's default TLP for an unmarked object that waited for a marking definition a later page brought", async () => {
    const statement = {
      type: 'marking-definition',
      spec_version: '2.1',
      id: `marking-definition--${crypto.randomUUID()}`,
      created: '2025-01-01T00:00:00.000Z',
      definition_type: 'statement',
      definition: { statement: 'Copyright the vendor' },
    };
    const waiting = indicator({ object_marking_refs: [statement.id] });
    feed.objects = [{ object: waiting, dateAdded: at(1) }];
    // RED for this source's unmarked objects, in a collection whose own default is AMBER.
    const { id, col } = await source({ default_tlp: 'RED' });
    await node.deps.puller.pullNow(id);
    expect(await levelOf(col, waiting.id)).toBe('DENY'); // withheld until the definition is known
    feed.objects.push({ object: statement, dateAdded: at(2) });
    expect(await node.deps.puller.pullNow(id)).toMatchObject({ ok: true, stored: 1 });
    expect(await levelOf(col, waiting.id)).toBe('RED');
  });

  it('shows where each version came from: the source, its URL and when, signed here as taken in, not as originated', async () => {
    feed.objects = [feedObject(1)];
    const { id, col } = await source();
    await node.deps.puller.pullNow(id);
    const [v] = (await adminJson(node, 'GET', `/admin/collections/${col}/objects/${feed.objects[0]!.object.id}`)).versions;
    expect(v).toMatchObject({
      received_from: `source/${id}`,
      origin_node: 'node-a',
      intake: { kind: 'taxii', url: `${feed.apiRoot}collections/${feed.collectionId}/` },
    });
    expect(Date.parse(v.intake.at)).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe('adding a TAXII source', () => {
  const post = (body: Record<string, unknown>) =>
    node.request('/admin/sources', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });

  it('answers what it stores, with the defaults: no auth, every 300 s, the since as first cursor', async () => {
    const { answer } = await source({ since: '2025-01-01T00:00:00Z' });
    expect(answer).toMatchObject({
      kind: 'taxii',
      url: feed.apiRoot,
      remote_collection_id: feed.collectionId,
      auth: { kind: 'none' },
      default_tlp: null,
      interval_seconds: 300,
      cursor: '2025-01-01T00:00:00Z',
      consecutive_failures: 0,
      last_pulled_count: 0,
    });
    expect(answer).not.toHaveProperty('peer_id');
  });

  it.each([
    [{ url: 'ftp://feed.example.org/api1/' }, /^url: /],
    [{ url: 'http://feed.example.org/api1/' }, /url: must be an https:\/\/ URL/],
    [{ url: 'https://user:pw@feed.example.org/api1/' }, /url: must not carry credentials/],
    [{ url: 'https://feed.example.org/api1/?x=1' }, /url: must not have a \?query/],
    [{ auth: { kind: 'bearer', token: 'two words' } }, /^auth\.token: /],
    [{ auth: { kind: 'header', name: 'Host', value: 'x' } }, /^auth\.name: is set by the node itself/],
    [{ auth: { kind: 'basic', username: 'a:b', password: 'x' } }, /^auth\.username: /],
    [{ default_tlp: 'PURPLE' }, /^default_tlp: /],
    [{ since: 'yesterday' }, /^since: /],
    [{ kind: 'opencti' }, /kind: must be "peer", "taxii" or "misp"/],
  ])('refuses %j with a 400 that names the field', async (over, message) => {
    const col = (await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: 'refused' })).id;
    const res = await post({ kind: 'taxii', url: feed.apiRoot, remote_collection_id: 'c1', collection_id: col, ...over });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { description: string }).description).toMatch(message);
  });

  it('takes the same server collection into one collection once', async () => {
    const { col } = await source();
    const res = await post({ kind: 'taxii', url: feed.apiRoot, remote_collection_id: feed.collectionId, collection_id: col });
    expect(res.status).toBe(409);
  });
});

describe('vigil source add taxii', () => {
  const vigil = (args: string[], stdin = '') =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const bin = new URL('../../bin/vigil.js', import.meta.url).pathname;
      const child = execFile(
        process.execPath,
        [bin, '--json', ...args],
        { env: { ...process.env, VIGIL_URL: node.url, ADMIN_TOKEN }, timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? -1) : 0, stdout: String(stdout), stderr: String(stderr) }),
      );
      child.stdin!.end(stdin);
    });

  it('adds a source as the issue spells it, with the secret from an argument or from standard input', async () => {
    const col = (await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: 'cli' })).id as string;
    const base = ['source', 'add', 'taxii', '--url', feed.apiRoot, '--collection', feed.collectionId, '--into', col];
    const added = await vigil([...base, '--basic', `reader:${SECRET}`, '--default-tlp', 'AMBER', '--interval', '600', '--since', at(0)]);
    expect(added.code, added.stderr).toBe(0);
    const shown = JSON.parse(added.stdout);
    expect(shown).toMatchObject({
      kind: 'taxii',
      auth: { kind: 'basic', username: 'reader' },
      default_tlp: 'AMBER',
      interval_seconds: 600,
      cursor: at(0),
    });
    expect(added.stdout).not.toContain(SECRET);
    const human = await new Promise<string>((resolve) =>
      execFile(
        process.execPath,
        [new URL('../../bin/vigil.js', import.meta.url).pathname, 'source', 'show', shown.id],
        {
          env: { ...process.env, VIGIL_URL: node.url, ADMIN_TOKEN },
        },
        (_e, stdout) => resolve(String(stdout)),
      ),
    );
    expect(human).toMatch(/^ {2}kind +TAXII server$/m);
    expect(human).toMatch(new RegExp(`^ {2}from +${feed.apiRoot}$`, 'm'));
    expect(human).toMatch(new RegExp(`^ {2}remote collection +${feed.collectionId}$`, 'm'));
    expect(human).toMatch(/^ {2}auth +basic \(reader\)$/m);
    expect((await vigil(['source', 'remove', shown.id])).code).toBe(0);

    const piped = await vigil([...base, '--bearer-file', '-'], `${SECRET}\n`);
    expect(piped.code, piped.stderr).toBe(0);
    const id = JSON.parse(piped.stdout).id as string;
    const row = await sql<{ auth_kind: string; auth_secret: string }>`SELECT auth_kind, auth_secret FROM sources WHERE id = ${id}`.execute(
      node.database.db,
    );
    expect(row.rows[0]).toEqual({ auth_kind: 'bearer', auth_secret: SECRET });
  });

  it('refuses two kinds of credentials at once, and a --default-tlp that is no TLP level', async () => {
    const col = (await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: 'cli refused' })).id as string;
    const base = ['source', 'add', 'taxii', '--url', feed.apiRoot, '--collection', feed.collectionId, '--into', col];
    const both = await vigil([...base, '--basic', 'a:b', '--bearer', 'c']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/cannot be used with/);
    expect((await vigil([...base, '--default-tlp', 'PURPLE'])).code).toBe(2);
  });
});
