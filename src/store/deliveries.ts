import { sql } from 'kysely';
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

export async function insertDelivery(db: Db, d: DeliveryRow): Promise<void> {
  await db.insertInto('deliveries').values(d).execute();
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
