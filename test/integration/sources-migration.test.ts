import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { startTestNode, testDatabase } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, indicator } from '../support/stix.ts';

// Migration 0009 renames the federation's "subscriptions" to sources. A node upgraded from the
// release before it keeps every source with its cursor, lease state, receipts and quarantine.

/** The schema the release before 0009 had: migration 0009 undone by hand. */
const UNDO_0009 = [
  'ALTER INDEX quarantine_by_source RENAME TO quarantine_by_subscription',
  'ALTER TABLE quarantine RENAME CONSTRAINT quarantine_source_id_fkey TO quarantine_subscription_id_fkey',
  'ALTER TABLE quarantine RENAME COLUMN source_id TO subscription_id',
  'ALTER INDEX receipts_by_source RENAME TO receipts_by_subscription',
  'ALTER TABLE receipts RENAME CONSTRAINT receipts_source_id_fkey TO receipts_subscription_id_fkey',
  'ALTER TABLE receipts RENAME COLUMN source_id TO subscription_id',
  'ALTER INDEX sources_due RENAME TO subscriptions_due',
  'ALTER TABLE sources RENAME CONSTRAINT sources_interval_seconds_check TO subscriptions_interval_seconds_check',
  'ALTER TABLE sources RENAME CONSTRAINT sources_collection_id_fkey TO subscriptions_collection_id_fkey',
  'ALTER TABLE sources RENAME CONSTRAINT sources_peer_id_fkey TO subscriptions_peer_id_fkey',
  'ALTER TABLE sources RENAME CONSTRAINT sources_peer_collection_key TO subscriptions_peer_id_remote_api_root_remote_collection_id__key',
  'ALTER TABLE sources RENAME CONSTRAINT sources_pkey TO subscriptions_pkey',
  'ALTER TABLE sources DROP COLUMN kind',
  'ALTER TABLE sources RENAME TO subscriptions',
  "DELETE FROM schema_migrations WHERE name = '0009_sources.sql'",
];

describe('a node upgraded across migration 0009 (subscriptions → sources)', () => {
  it('keeps each source with its cursor, failures, receipts and quarantined versions', async () => {
    const database = await testDatabase();
    let old: TestNode | undefined = await startTestNode({ PULL_TICK_MS: '0' }, database);
    let upgraded: TestNode | undefined;
    try {
      const col = (await adminJson(old, 'POST', '/admin/collections', { api_root: 'default', title: 'pulled' })).id;
      const peer = await adminJson(old, 'POST', '/admin/clients', { name: 'node-b', kind: 'peer' });
      await adminJson(old, 'PUT', `/admin/clients/${peer.id}/peer`, {
        node_id: 'node-b',
        keys: old.deps.keyring.publicKeys(),
        base_url: 'http://127.0.0.1:9',
      });
      const source = await adminJson(old, 'POST', '/admin/sources', {
        peer_id: peer.id,
        remote_api_root: 'default',
        remote_collection_id: 'remote',
        collection_id: col,
        interval_seconds: 90,
      });
      const db = old.database.db;
      const kept = indicator();
      await sql`UPDATE sources SET cursor = '2026-01-02T03:04:05.123456Z', consecutive_failures = 2, last_error = 'peer down'
        WHERE id = ${source.id}`.execute(db);
      await sql`INSERT INTO receipts (source_id, peer, signature, body_digest, object_count)
        VALUES (${source.id}, 'node-b', 'sig', 'digest', 7)`.execute(db);
      await sql`INSERT INTO quarantine (source_id, collection_id, peer, id, version, object)
        VALUES (${source.id}, ${col}, 'node-b', ${kept.id}, ${kept.modified}, ${JSON.stringify(kept)}::jsonb)`.execute(db);
      for (const statement of UNDO_0009) await sql.raw(statement).execute(db);
      await old.stop();
      old = undefined;

      upgraded = await startTestNode({ PULL_TICK_MS: '0' }, database);
      expect(await adminJson(upgraded, 'GET', `/admin/sources/${source.id}`)).toMatchObject({
        id: source.id,
        kind: 'peer',
        peer_node_id: 'node-b',
        remote_collection_id: 'remote',
        collection_id: col,
        interval_seconds: 90,
        cursor: '2026-01-02T03:04:05.123456Z',
        consecutive_failures: 2,
        last_error: 'peer down',
        quarantined: 1,
      });
      const quarantine = await adminJson(upgraded, 'GET', `/admin/sources/${source.id}/quarantine`);
      expect(quarantine.objects.map((o: { id: string }) => o.id)).toEqual([kept.id]);
      const receipts = await sql<{ n: number }>`SELECT sum(object_count)::int AS n FROM receipts WHERE source_id = ${source.id}`.execute(
        upgraded.database.db,
      );
      expect(receipts.rows[0]!.n).toBe(7);
      // Removing the source keeps its receipts, as before: their source_id becomes null.
      await upgraded.request(`/admin/sources/${source.id}`, { method: 'DELETE' });
      const orphans = await sql<{ n: number }>`SELECT count(*)::int AS n FROM receipts WHERE source_id IS NULL`.execute(
        upgraded.database.db,
      );
      expect(orphans.rows[0]!.n).toBe(1);
    } finally {
      await old?.stop();
      await upgraded?.stop();
      await database.drop();
    }
  });
});
