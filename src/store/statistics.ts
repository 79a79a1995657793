import { sql } from 'kysely';
import type { Db } from './database.ts';

// A catch-up stores a peer's backlog, 100,000 versions in seconds, faster than autovacuum comes
// round (a minute at least). Planned on the statistics of a near-empty table, each page's
// writes then scan the whole collection, and a page costs more the longer the catch-up runs.

/**
 * Runs ANALYZE on the tables a received page grows once they hold more than twice the rows the
 * statistics know of, plus `minRows`: a backlog of n rows is analyzed about log2(n / minRows)
 * times. Skipped while another ANALYZE (autovacuum's) holds a table.
 */
export async function refreshStatisticsIfStale(db: Db, minRows = 10_000): Promise<boolean> {
  // n_live_tup, not n_mod_since_analyze: an ANALYZE of some columns leaves that counter as it was.
  const r = await sql<{ stale: boolean }>`
    SELECT s.n_live_tup > ${minRows} + 2 * greatest(c.reltuples, 0) AS stale
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE s.relid = 'objects'::regclass`.execute(db);
  if (!r.rows[0]?.stale) return false;
  // The columns that reads and writes compare, not the JSON (a third of the time, not all of it).
  await sql`ANALYZE (SKIP_LOCKED) objects (collection_id, date_added, id, type, spec_version, version_at, version_key, tlp_level, latest, ref_kind), id_levels`.execute(
    db,
  );
  return true;
}
