import { sql } from 'kysely';
import type { RawBuilder } from 'kysely';
import { PREPARED } from './database.ts';
import type { Db } from './database.ts';
import { rowConditions } from './objects-query.ts';
import type { ObjectFilters } from './objects-query.ts';
import { referencesVisible } from './visibility.ts';

// match[version]=all over a whole collection (a peer's catch-up, a full export): every row is
// chosen by its own columns, so a page is one walk of the collection in date_added order.

/** A read of every version (TAXII 2.1 §3.4.2) not narrowed to ids: served by allVersionsPage. */
export function readsAllVersions(f: ObjectFilters): boolean {
  // A few ids are found faster by id than by walking the collection.
  return (f.versions ?? []).some((v) => v.kind === 'all') && !f.ids?.length;
}

/**
 * The spec-version rule as a condition on the row: the versions asked for; else only the latest
 * spec version held for the id (§3.4.2). A `latest` row has it; only older rows need the probe.
 */
function specRule(f: ObjectFilters): RawBuilder<boolean> {
  if (f.specVersions?.length) return sql<boolean>`o.spec_version IN (${sql.join(f.specVersions)})`;
  if (f.anySpecVersion) return sql<boolean>`true`;
  return sql<boolean>`(o.latest OR NOT EXISTS (SELECT 1 FROM objects s
    WHERE s.collection_id = o.collection_id AND s.id = o.id AND s.spec_version > o.spec_version))`;
}

/**
 * A keyset page of every version, `limit + 1` rows so `more` is exact, read by walking the
 * (collection_id, date_added) index and stopping at the page's end. Sorting is switched off for
 * the statement: without fresh statistics (a collection that just grew by 100,000 rows) the
 * planner otherwise fetches and sorts every later row, a cost growing with the collection.
 */
export async function allVersionsPage<T>(
  db: Db,
  collectionId: string,
  f: ObjectFilters,
  limit: number,
  columns: RawBuilder<unknown>,
): Promise<T[]> {
  return db.transaction().execute(async (tx) => {
    await sql`SET LOCAL enable_sort = off`.execute(tx);
    const r = await sql<T>`${sql.raw(PREPARED)}
      SELECT ${columns} FROM objects o
      WHERE ${rowConditions(collectionId, f)} AND ${specRule(f)} AND ${referencesVisible('o', f.audience, f.relaxContainers ?? false)}
      ORDER BY o.date_added LIMIT ${limit + 1}`.execute(tx);
    return r.rows;
  });
}
