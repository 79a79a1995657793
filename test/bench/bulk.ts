import type { Doc } from './data.ts';
import type { Sql } from './target.ts';

// The columns the node derives from a document, computed by PostgreSQL from the JSON text,
// shared by the bulk load (the node's table) and the raw ingest (a plain copy of it).
const derived = `
  (d.value->>0)::jsonb AS object, d.value->>0 AS text, (d.value->>1)::smallint AS level,
  ARRAY(SELECT jsonb_array_elements_text(d.value->2)) AS ref_ids, d.ord`;
const columns = `collection_id, date_added, id, type, spec_version, version, version_at, version_key, marking_refs, object, tlp_level, ref_kind, ref_ids`;
const values = (dateAdded: string) => `
  $1::uuid, ${dateAdded}, x.object->>'id', x.object->>'type', x.object->>'spec_version', x.object->>'modified',
  (x.object->>'modified')::timestamptz, (x.object->>'modified')::timestamptz,
  ARRAY(SELECT jsonb_array_elements_text(coalesce(x.object->'object_marking_refs', '[]'))), x.object, x.level,
  CASE WHEN cardinality(x.ref_ids) > 0 THEN 'link' END, x.ref_ids`;

function payload(docs: Doc[]): string {
  return JSON.stringify(docs.map((d) => [d.json, d.level, d.refIds]));
}

/**
 * Stores documents in the node's own table without going through the node (so a large
 * collection loads in minutes): one statement per batch, date_added 1 ms apart from `startMs`.
 * Keeps id_levels and the collection's last stamp as the node would.
 */
export async function bulkLoad(sql: Sql, collectionId: string, docs: Doc[], startMs: number): Promise<void> {
  await sql(
    `WITH x AS (SELECT ${derived} FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS d(value, ord)),
     ins AS (INSERT INTO objects (${columns})
       SELECT ${values(`to_timestamp(($3::bigint + x.ord) / 1000.0)`)} FROM x RETURNING id, tlp_level)
     INSERT INTO id_levels (collection_id, id, tlp_level) SELECT $1::uuid, id, max(tlp_level) FROM ins GROUP BY id
     ON CONFLICT (collection_id, id) DO UPDATE SET tlp_level = greatest(id_levels.tlp_level, excluded.tlp_level)`,
    [collectionId, payload(docs), startMs],
  );
  // Older versions of the batch's ids are no longer the latest (the node does the same at ingest).
  await sql(
    `UPDATE objects o SET latest = false WHERE o.collection_id = $1 AND o.latest AND o.id = ANY ($2::text[])
       AND EXISTS (SELECT 1 FROM objects v WHERE v.collection_id = o.collection_id AND v.id = o.id
         AND (v.spec_version > o.spec_version OR (v.spec_version = o.spec_version AND v.version_at > o.version_at)))`,
    [collectionId, [...new Set(docs.map((d) => d.id))]],
  );
  // The node's stamps come after every stamp so far, as after the node's own writes (migration 0010).
  await sql(
    `SELECT setval('date_added_clock', greatest((SELECT last_value FROM date_added_clock),
       (SELECT (extract(epoch FROM max(date_added)) * 1000000)::bigint FROM objects WHERE collection_id = $1)))`,
    [collectionId],
  );
}

export const RAW_TABLE = 'bench_raw_objects';
/** The ingest floor's table (floor-server.ts), a copy of the raw ingest's. */
export const FLOOR_TABLE = 'bench_floor_objects';

/** A raw ingest's table: the node's objects table's columns and indexes, nothing else, and its stamps' sequence. */
export async function createRawTable(sql: Sql, table = RAW_TABLE): Promise<void> {
  await sql(`CREATE TABLE ${table} (LIKE objects INCLUDING DEFAULTS INCLUDING INDEXES)`);
  await sql(`CREATE SEQUENCE ${table}_seq`);
}

/** The raw ingest's statement into `table`: $1 the collection, $2 the payload of [text, level, refIds] rows. */
export function rawInsertStatement(table: string): string {
  return `WITH x AS (SELECT ${derived} FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS d(value, ord))
     INSERT INTO ${table} (${columns})
     SELECT ${values(`'2000-01-01'::timestamptz + nextval('${table}_seq') * interval '1 microsecond'`)} FROM x`;
}

/** The raw ingest: one batched INSERT of documents parsed by PostgreSQL, as the node does. */
export async function rawInsert(sql: Sql, collectionId: string, docs: Doc[]): Promise<void> {
  await sql(rawInsertStatement(RAW_TABLE), [collectionId, payload(docs)]);
}
