import { sql } from 'kysely';
import type { Transaction } from 'kysely';
import { aggregateFigures } from '../stix/sighting-aggregate.ts';
import type { AggregateFigures } from '../stix/sighting-aggregate.ts';
import { backfillVersions } from './backfill.ts';
import type { Db } from './database.ts';
import type { Schema } from './schema.ts';
import { versionTimeOf } from './timestamps.ts';

// The figures of stored aggregate sightings (migration 0016), kept beside their versions as feed
// values are (store/feeds.ts): extracted in the writer's transaction, read by trends
// (store/trends.ts) under the conditions of a TAXII read of the version each row points at.

/** An aggregate version as stored, with its figures and who signed it into the federation. */
export type FigureVersion = { id: string; specVersion: string; version: string; originNode: string | null; figures: AggregateFigures };

/** The figures of an object version (its JSON as stored), or undefined when it is no aggregate sighting. */
export function figuresOf(type: string, json: string): AggregateFigures | undefined {
  if (type !== 'sighting') return undefined;
  try {
    return aggregateFigures(JSON.parse(json) as Record<string, unknown>);
  } catch {
    return undefined;
  }
}

/** Records the figures of aggregate versions just stored, in the writer's transaction. */
export async function insertSightingFigures(tx: Transaction<Schema> | Db, collectionId: string, versions: FigureVersion[]): Promise<void> {
  if (versions.length === 0) return;
  const rows = versions.map((v) => {
    const f = v.figures;
    return [
      v.id,
      v.specVersion,
      v.version,
      f.indicatorId,
      v.originNode,
      f.whereSighted,
      f.bucket.size,
      f.bucket.start,
      f.count,
      f.organisations,
      f.firstSeen,
      f.lastSeen,
    ];
  });
  const t = (i: number) => versionTimeOf(sql`r.value->>${sql.lit(i)}`);
  await sql`INSERT INTO sighting_figures (collection_id, id, spec_version, version_key, indicator_id, origin_node, where_sighted,
      bucket_size, bucket_start, count, organisations, first_seen, last_seen)
    SELECT ${collectionId}::uuid, r.value->>0, r.value->>1, ${t(2)}, r.value->>3, r.value->>4, r.value->>5,
           r.value->>6, ${t(7)}, (r.value->>8)::bigint, (r.value->>9)::int, ${t(10)}, ${t(11)}
    FROM jsonb_array_elements(${JSON.stringify(rows)}::jsonb) AS r(value)
    ON CONFLICT DO NOTHING`.execute(tx);
}

/**
 * Extracts the figures of sightings stored before migration 0016 (it leaves a position in
 * node_settings), `batch` versions at a time. Returns how many versions it read.
 */
export function backfillSightingFigures(db: Db, batch = 1000): Promise<number> {
  return backfillVersions(
    db,
    'sighting_figures_backfill_after',
    sql<boolean>`o.type = 'sighting'`,
    async (tx, collectionId, rows) => {
      const versions = rows.flatMap((row) => {
        const figures = figuresOf(row.type, row.json);
        return figures && row.version !== null
          ? [{ id: row.id, specVersion: row.spec_version, version: row.version, originNode: row.origin_node, figures }]
          : [];
      });
      await insertSightingFigures(tx, collectionId, versions);
    },
    batch,
  );
}
