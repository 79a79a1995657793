import { sql } from 'kysely';
import { PREPARED } from './database.ts';
import type { Db } from './database.ts';
import { taxiiTime } from './timestamps.ts';

export type DeliveryRow = {
  recipient: string;
  collection_id: string;
  first_date_added: string;
  last_date_added: string;
  object_count: number;
  max_level: number;
};

/** One row per page served at AMBER or above: a prepared statement, as hot as the read it follows. */
export async function insertDelivery(db: Db, d: DeliveryRow): Promise<void> {
  await sql`${sql.raw(PREPARED)} INSERT INTO deliveries (recipient, collection_id, first_date_added, last_date_added, object_count, max_level)
    VALUES (${d.recipient}, ${d.collection_id}, ${d.first_date_added}, ${d.last_date_added}, ${d.object_count}, ${d.max_level})`.execute(
    db,
  );
}

/**
 * "Who received this object?": the recorded pages of its collection whose date_added range
 * covers one of its versions.
 */
export async function deliveriesOfObject(
  db: Db,
  collectionId: string,
  objectId: string,
): Promise<(DeliveryRow & { delivered_at: string })[]> {
  const r = await sql<DeliveryRow & { delivered_at: string }>`
    SELECT DISTINCT d.seq, d.recipient, d.collection_id, ${taxiiTime('d.first_date_added')} AS first_date_added,
           ${taxiiTime('d.last_date_added')} AS last_date_added, d.object_count, d.max_level, ${taxiiTime('d.delivered_at')} AS delivered_at
    FROM deliveries d JOIN objects o ON o.collection_id = d.collection_id
      AND o.date_added BETWEEN d.first_date_added AND d.last_date_added
    WHERE d.collection_id = ${collectionId} AND o.id = ${objectId}
    ORDER BY d.seq`.execute(db);
  return r.rows.map(({ seq: _seq, ...rest }: DeliveryRow & { delivered_at: string; seq?: unknown }) => rest);
}
