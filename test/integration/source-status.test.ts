import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestNode, testDatabase } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { runVigil } from '../support/cli.ts';
import { adminJson, indicator, postObjects } from '../support/stix.ts';
import { addTaxiiSource, startTaxiiFeed } from '../support/taxii-feed.ts';
import type { TaxiiFeed } from '../support/taxii-feed.ts';

// A source's status as the admin API, `vigil source list` and `vigil source show` give it: the
// last pull (its end, success or not, and what it stored), the lag, what the source has stored in
// all, failures and the last error; never a secret. Migration 0014 counts what was stored before it.

const SECRET = 'feed-secret-2b9e51c07a34';

let node: TestNode;
let feed: TaxiiFeed;

beforeAll(async () => {
  [node, feed] = await Promise.all([startTestNode({ NODE_ID: 'node-a', PULL_TICK_MS: '0' }), startTaxiiFeed()]);
});
afterAll(async () => {
  await node?.stop();
  await feed?.close();
});

const at = (ms: number) => new Date(Date.UTC(2025, 2, 1, 10, 0, 0, ms)).toISOString();
const feedObjects = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ object: indicator({ name: `feed ${from + i}` }), dateAdded: at(from + i) }));

const taxiiSource = (target: TestNode) => addTaxiiSource(target, feed, { auth: { kind: 'bearer', token: SECRET } });

const vigil = (args: string[]) => runVigil(args, { env: { VIGIL_URL: node.url, ADMIN_TOKEN } });

describe('a source’s status', () => {
  it('gives the last pull, what it stored, what the source stored in all, and the failure after it', async () => {
    feed.objects = feedObjects(0, 3);
    feed.behaviour = {};
    const { id } = await taxiiSource(node);
    const fresh = await adminJson(node, 'GET', `/admin/sources/${id}`);
    expect(fresh).toMatchObject({ last_success: null, last_attempt: null, lag_seconds: null, last_pulled_count: 0, stored_count: 0 });

    expect(await node.deps.puller.pullNow(id)).toMatchObject({ ok: true, stored: 3 });
    const good = await adminJson(node, 'GET', `/admin/sources/${id}`);
    expect(good).toMatchObject({ kind: 'taxii', last_pulled_count: 3, stored_count: 3, consecutive_failures: 0, last_error: null });
    expect(good.last_attempt).toBe(good.last_success);
    expect(good.lag_seconds).toBeGreaterThanOrEqual(0);

    // Two new objects and one already held: the run takes in two, the source has five.
    feed.objects.push(...feedObjects(10, 2));
    expect(await node.deps.puller.pullNow(id)).toMatchObject({ ok: true, stored: 2 });
    const second = await adminJson(node, 'GET', `/admin/sources/${id}`);
    expect(second).toMatchObject({ last_pulled_count: 2, stored_count: 5 });

    feed.behaviour = { status: { code: 500 } };
    expect(await node.deps.puller.pullNow(id)).toMatchObject({ ok: false });
    const failed = await adminJson(node, 'GET', `/admin/sources/${id}`);
    expect(failed).toMatchObject({
      last_success: second.last_success,
      last_pulled_count: 0,
      stored_count: 5,
      consecutive_failures: 1,
      last_error: 'http-status: the server answered 500, not 200',
    });
    expect(failed.last_attempt > failed.last_success).toBe(true);
    expect(JSON.stringify(await adminJson(node, 'GET', '/admin/sources'))).not.toContain(SECRET);

    // The same numbers from the vigil command: a table, JSON, and one source's fields.
    const list = await vigil(['source', 'list']);
    expect(list.code, list.stderr).toBe(0);
    const [header, ...rows] = list.stdout.trimEnd().split('\n');
    expect(header).toMatch(
      /^ID +KIND +FROM +INTO +LAST SUCCESS +LAST ATTEMPT +LAG +LAST PULL +STORED +FAILURES +QUARANTINED +NEXT ATTEMPT +LAST ERROR$/,
    );
    const row = rows.find((r) => r.startsWith(id))!;
    expect(row).toMatch(
      new RegExp(
        `^${id} +TAXII server +${feed.apiRoot} +\\S+ +\\S+Z +\\S+Z +\\d+ s +0 +5 +1 +0 +\\S+Z +http-status: the server answered 500, not 200$`,
      ),
    );
    const json = JSON.parse((await vigil(['--json', 'source', 'list'])).stdout);
    expect(json.sources.find((s: { id: string }) => s.id === id)).toMatchObject({ stored_count: 5, last_pulled_count: 0 });
    const shown = await vigil(['source', 'show', id]);
    expect(shown.code, shown.stderr).toBe(0);
    for (const line of [
      /^ {2}kind +TAXII server$/m,
      new RegExp(`^ {2}from +${feed.apiRoot}$`, 'm'),
      /^ {2}auth +bearer$/m,
      /^ {2}last pull stored +0$/m,
      /^ {2}stored in all +5$/m,
      /^ {2}failures in a row +1$/m,
      /^ {2}last error +http-status: the server answered 500, not 200$/m,
      new RegExp(`^ {2}last attempt +${failed.last_attempt.replace(/[.]/g, '\\.')}$`, 'm'),
    ])
      expect(shown.stdout).toMatch(line);
    expect(list.stdout + shown.stdout).not.toContain(SECRET);
  });
});

describe('migration 0014 (source counts)', () => {
  it('counts what each source stored before it: a TAXII source by its origin, a peer by its node id', async () => {
    const database = await testDatabase();
    let old: TestNode | undefined = await startTestNode({ PULL_TICK_MS: '0' }, database);
    let upgraded: TestNode | undefined;
    try {
      feed.objects = feedObjects(100, 4);
      feed.behaviour = {};
      const taxii = await taxiiSource(old);
      expect(await old.deps.puller.pullNow(taxii.id)).toMatchObject({ ok: true, stored: 4 });
      // A peer's versions carry its node id as their origin: two stand for what it sent.
      const col = (await adminJson(old, 'POST', '/admin/collections', { api_root: 'default', title: 'from node-b' })).id as string;
      const peer = await adminJson(old, 'POST', '/admin/clients', { name: 'node-b', kind: 'peer' });
      await adminJson(old, 'PUT', `/admin/clients/${peer.id}/peer`, {
        node_id: 'node-b',
        keys: old.deps.keyring.publicKeys(),
        base_url: 'http://127.0.0.1:9',
      });
      const fromPeer = await adminJson(old, 'POST', '/admin/sources', {
        peer_id: peer.id,
        remote_api_root: 'default',
        remote_collection_id: 'remote',
        collection_id: col,
      });
      const pulled = [indicator(), indicator()];
      await postObjects(old, `/default/collections/${col}`, [...pulled, indicator()]);
      const db = old.database.db;
      await sql`UPDATE objects SET origin = 'node-b' WHERE collection_id = ${col} AND id IN (${sql.join(pulled.map((o) => o.id))})`.execute(
        db,
      );
      // The schema before 0014.
      await sql`ALTER TABLE sources DROP COLUMN last_attempt, DROP COLUMN stored_count`.execute(db);
      await sql`DELETE FROM schema_migrations WHERE name = '0014_source_counts.sql'`.execute(db);
      await old.stop();
      old = undefined;

      upgraded = await startTestNode({ PULL_TICK_MS: '0' }, database);
      const t = await adminJson(upgraded, 'GET', `/admin/sources/${taxii.id}`);
      expect(t).toMatchObject({ stored_count: 4, last_pulled_count: 4 });
      expect(t.last_attempt).toBe(t.last_success);
      expect(await adminJson(upgraded, 'GET', `/admin/sources/${fromPeer.id}`)).toMatchObject({ stored_count: 2, last_attempt: null });
    } finally {
      await old?.stop();
      await upgraded?.stop();
      await database.drop();
    }
  });
});
