import { sql } from 'kysely';
import type { RawBuilder, Transaction } from 'kysely';
import type { Db } from './database.ts';
import type { Schema } from './schema.ts';
import { taxiiTimeOf } from './timestamps.ts';

// What a migration adds beside object versions (feed values, sighting figures) is extracted when a
// version is stored; versions stored before it are extracted by the node at start, from a position
// the migration leaves in node_settings, batch by batch.

/** An object version as stored, for an extraction. */
export type StoredVersion = {
  id: string;
  spec_version: string;
  version: string | null;
  type: string;
  json: string;
  origin_node: string | null;
};

/**
 * Reads the versions of `condition` (on alias `o`) after the position kept under `key`, `batch` at
 * a time, and hands each collection's share to `extract`, in a transaction that moves the position
 * on; the setting goes once every version is done. Returns how many versions it read.
 */
export async function backfillVersions(
  db: Db,
  key: string,
  condition: RawBuilder<boolean>,
  extract: (tx: Transaction<Schema>, collectionId: string, versions: StoredVersion[]) => Promise<void>,
  batch: number,
): Promise<number> {
  let read = 0;
  for (;;) {
    const done = await db.transaction().execute(async (tx) => {
      const at = await sql<{ value: string }>`SELECT value FROM node_settings WHERE key = ${key} FOR UPDATE`.execute(tx);
      const position = at.rows[0]?.value;
      if (position === undefined) return true;
      const [collection, dateAdded] = position === '' ? [undefined, undefined] : position.split(' ');
      const from = collection ? sql`AND (o.collection_id, o.date_added) > (${collection}::uuid, ${dateAdded}::timestamptz)` : sql``;
      const rows = await sql<StoredVersion & { collection_id: string; date_added: string }>`
        SELECT o.collection_id, ${taxiiTimeOf(sql`o.date_added`)} AS date_added, o.id, o.spec_version, o.version, o.type, o.object::text AS json,
          o.origin_node
        FROM objects o WHERE ${condition} ${from} ORDER BY o.collection_id, o.date_added LIMIT ${batch}`.execute(tx);
      const byCollection = new Map<string, StoredVersion[]>();
      for (const row of rows.rows) byCollection.set(row.collection_id, [...(byCollection.get(row.collection_id) ?? []), row]);
      for (const [collectionId, versions] of byCollection) await extract(tx, collectionId, versions);
      read += rows.rows.length;
      const last = rows.rows.at(-1);
      if (rows.rows.length < batch || !last) {
        await sql`DELETE FROM node_settings WHERE key = ${key}`.execute(tx);
        return true;
      }
      await sql`UPDATE node_settings SET value = ${`${last.collection_id} ${last.date_added}`} WHERE key = ${key}`.execute(tx);
      return false;
    });
    if (done) return read;
  }
}
