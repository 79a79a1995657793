import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, testDatabase } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, indicator, postObjects } from '../support/stix.ts';
import { statement } from '../support/bundles.ts';
import { backfillFeeds } from '../../src/store/feeds.ts';
import { TLP1 } from '../fixtures/tlp-ids.ts';

// A feed follows its collection through every way objects come and go (docs/feeds.md): requests
// stored inline and queued, versions released when their marking definition arrives, deletes,
// pulls from a peer, and objects stored before the release that brought feeds (migration 0011).

const INLINE_MAX = 5;

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ SYNC_INGEST_MAX_OBJECTS: String(INLINE_MAX), PULL_TICK_MS: '0' });
});
afterAll(async () => node?.stop());

async function newCollection(at: TestNode = node): Promise<{ id: string; base: string }> {
  const c = await adminJson(at, 'POST', '/admin/collections', { api_root: 'default', title: `feeds ${randomUUID()}` });
  return { id: c.id, base: `/default/collections/${c.id}` };
}

async function list(at: TestNode, collectionId: string, kind = 'ipv4', token?: string): Promise<string[]> {
  const res = await at.request(`/feeds/${collectionId}/${kind}.txt`, { headers: { accept: 'text/plain' }, ...(token ? { token } : {}) });
  expect(res.status).toBe(200);
  return (await res.text()).split('\n').filter(Boolean);
}

const addresses = (n: number, third: number) => Array.from({ length: n }, (_, i) => `192.0.${third}.${i + 1}`);
const indicators = (values: string[], over: Record<string, unknown> = {}) =>
  values.map((v) => indicator({ pattern: `[ipv4-addr:value = '${v}']`, ...over }));

describe('every write path keeps the feeds in step', () => {
  it('stores inline and queued requests', async () => {
    const col = await newCollection();
    const inline = addresses(INLINE_MAX, 1);
    const queued = addresses(INLINE_MAX * 3, 2);
    expect(await postObjects(node, col.base, indicators(inline))).toMatchObject({ status: 'complete', success_count: INLINE_MAX });
    expect(await postObjects(node, col.base, indicators(queued))).toMatchObject({ status: 'complete', success_count: INLINE_MAX * 3 });
    expect(await list(node, col.id)).toEqual([...inline, ...queued].sort());
  });

  it('serves values withheld for a missing marking definition once it arrives, and not before', async () => {
    const col = await newCollection();
    const client = await adminJson(node, 'POST', '/admin/clients', {
      name: `fw-${randomUUID().slice(0, 8)}`,
      kind: 'feed',
      clearance: 'GREEN',
      grants: [{ collection_id: col.id, can_read: true, can_write: false }],
    });
    const mark = statement('Block at the perimeter.');
    await postObjects(node, col.base, indicators(['192.0.2.200'], { object_marking_refs: [mark.id, TLP1.green] }));
    expect(await list(node, col.id, 'ipv4', client.token)).toEqual([]);
    await postObjects(node, col.base, [mark]);
    expect(await list(node, col.id, 'ipv4', client.token)).toEqual(['192.0.2.200']);
  });

  it('drops the values of deleted versions, and serves an earlier version again when the latest goes', async () => {
    const col = await newCollection();
    const first = indicator({ pattern: "[ipv4-addr:value = '192.0.2.50']" });
    const second = { ...first, modified: '2025-01-01T00:00:00.000Z', pattern: "[ipv4-addr:value = '192.0.2.51']" };
    await postObjects(node, col.base, [first, second]);
    expect(await list(node, col.id)).toEqual(['192.0.2.51']);
    const del = await node.request(`${col.base}/objects/${first.id}/?match[version]=${second.modified}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(await list(node, col.id)).toEqual(['192.0.2.50']);
    const held = await sql<{ n: number }>`SELECT count(*)::int AS n FROM feed_values WHERE collection_id = ${col.id}`.execute(
      node.database.db,
    );
    expect(held.rows[0]!.n).toBe(1);
  });

  it('drops every value of a collection that is deleted', async () => {
    const col = await newCollection();
    await postObjects(node, col.base, indicators(addresses(INLINE_MAX * 3, 3)));
    const held = async () =>
      (await sql<{ n: number }>`SELECT count(*)::int AS n FROM feed_values WHERE collection_id = ${col.id}`.execute(node.database.db))
        .rows[0]!.n;
    expect(await held()).toBe(INLINE_MAX * 3);
    await adminJson(node, 'DELETE', `/admin/collections/${col.id}`);
    expect(await held()).toBe(0);
  });

  it('takes objects pulled from a peer', async () => {
    const peer = await startTestNode({ NODE_ID: `node-${randomUUID().slice(0, 6)}`, PULL_TICK_MS: '0' });
    try {
      const remote = await newCollection(peer);
      const local = await newCollection();
      const reader = await adminJson(peer, 'POST', '/admin/clients', {
        name: node.deps.keyring.nodeId,
        kind: 'peer',
        grants: [{ collection_id: remote.id, can_read: true, can_write: false }],
      });
      await adminJson(peer, 'PUT', `/admin/clients/${reader.id}/peer`, {
        node_id: node.deps.keyring.nodeId,
        keys: node.deps.keyring.publicKeys(),
      });
      const pulled = await adminJson(node, 'POST', '/admin/clients', { name: peer.deps.keyring.nodeId, kind: 'peer' });
      await adminJson(node, 'PUT', `/admin/clients/${pulled.id}/peer`, {
        node_id: peer.deps.keyring.nodeId,
        keys: peer.deps.keyring.publicKeys(),
        base_url: peer.url,
      });
      const source = await adminJson(node, 'POST', '/admin/sources', {
        peer_id: pulled.id,
        remote_api_root: 'default',
        remote_collection_id: remote.id,
        collection_id: local.id,
      });
      await postObjects(peer, remote.base, indicators(['198.51.100.60'], { object_marking_refs: [TLP1.green] }));
      expect(await node.deps.puller.pullNow(source.id)).toMatchObject({ ok: true, stored: 1 });
      expect(await list(node, local.id)).toEqual(['198.51.100.60']);
    } finally {
      await peer.stop();
    }
  });
});

describe('a node upgraded across migration 0011', () => {
  it('extracts the values of objects stored before feeds existed, before it serves', async () => {
    const database = await testDatabase();
    let old: TestNode | undefined = await startTestNode({}, database);
    let upgraded: TestNode | undefined;
    try {
      const col = await newCollection(old);
      const values = addresses(30, 3);
      await postObjects(old, col.base, indicators(values));
      // The schema of the release before 0011, with the objects already stored.
      for (const statement of [
        'DROP TABLE feed_values',
        'DROP TABLE feed_changes',
        'ALTER TABLE clients DROP CONSTRAINT clients_kind_check',
        "ALTER TABLE clients ADD CONSTRAINT clients_kind_check CHECK (kind IN ('client', 'peer'))",
        "DELETE FROM schema_migrations WHERE name = '0011_feeds.sql'",
      ])
        await sql.raw(statement).execute(old.database.db);
      await old.stop();
      old = undefined;

      upgraded = await startTestNode({}, database);
      expect(await list(upgraded, col.id)).toEqual([...values].sort());
      const setting = await sql`SELECT 1 FROM node_settings WHERE key = 'feeds_backfill_after'`.execute(upgraded.database.db);
      expect(setting.rows).toEqual([]);
      // In batches, from where the last one stopped.
      await sql`DELETE FROM feed_values`.execute(upgraded.database.db);
      await sql`INSERT INTO node_settings (key, value) VALUES ('feeds_backfill_after', '')`.execute(upgraded.database.db);
      expect(await backfillFeeds(upgraded.database.db, 7)).toBe(30);
      expect(await list(upgraded, col.id)).toEqual([...values].sort());
    } finally {
      await old?.stop();
      await upgraded?.stop();
      await database.drop();
    }
  });
});
