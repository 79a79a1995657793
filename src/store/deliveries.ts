import { sql } from 'kysely';
import { PREPARED } from './database.ts';
import type { Db } from './database.ts';
import { executeCached } from './statement-cache.ts';
import { taxiiTime } from './timestamps.ts';

export type DeliveryRow = {
  recipient: string;
  collection_id: string;
  first_date_added: string;
  last_date_added: string;
  object_count: number;
  max_level: number;
};

/** One row, a prepared statement compiled once, as hot as the read it follows. */
async function insertOne(db: Db, d: DeliveryRow): Promise<void> {
  const values = {
    recipient: d.recipient,
    collectionId: d.collection_id,
    first: d.first_date_added,
    last: d.last_date_added,
    count: String(d.object_count),
    level: String(d.max_level),
  };
  await executeCached(
    db,
    'delivery',
    values,
    (
      v,
    ) => sql`${sql.raw(PREPARED)} INSERT INTO deliveries (recipient, collection_id, first_date_added, last_date_added, object_count, max_level)
    VALUES (${v.recipient}, ${v.collectionId}, ${v.first}, ${v.last}, ${v.count}, ${v.level})`,
  );
}

/** Several rows in one statement: one text whatever their number, so it stays prepared. */
async function insertMany(db: Db, rows: DeliveryRow[]): Promise<void> {
  const column = <K extends keyof DeliveryRow>(key: K) => rows.map((d) => d[key]);
  await sql`${sql.raw(PREPARED)} INSERT INTO deliveries (recipient, collection_id, first_date_added, last_date_added, object_count, max_level)
    SELECT * FROM unnest(${column('recipient')}::text[], ${column('collection_id')}::uuid[], ${column('first_date_added')}::timestamptz[],
      ${column('last_date_added')}::timestamptz[], ${column('object_count')}::int[], ${column('max_level')}::smallint[])`.execute(db);
}

type Waiting = { row: DeliveryRow; done: (err?: unknown) => void };

/** Per database: the rows that came while an insert was under way, for the next one. */
const queues = new WeakMap<Db, { busy: boolean; waiting: Waiting[] }>();

/**
 * Records a page served at AMBER or above, resolving once its row is committed. Rows that come
 * while an insert is under way go in the next one together: under load one statement and one
 * commit record many pages, where a row costs PostgreSQL little beside its statement and commit.
 * A batch that fails is tried row by row, so a row fails only its own page.
 */
export function insertDelivery(db: Db, row: DeliveryRow): Promise<void> {
  // Inside a transaction the row belongs to it alone.
  if (db.isTransaction) return insertOne(db, row);
  let queue = queues.get(db);
  if (!queue) queues.set(db, (queue = { busy: false, waiting: [] }));
  const q = queue;
  const recorded = new Promise<void>((resolve, reject) => q.waiting.push({ row, done: (err) => (err ? reject(err) : resolve()) }));
  if (!q.busy) void drain(db, q);
  return recorded;
}

async function drain(db: Db, q: { busy: boolean; waiting: Waiting[] }): Promise<void> {
  q.busy = true;
  while (q.waiting.length > 0) {
    const batch = q.waiting.splice(0);
    try {
      const rows = batch.map((w) => w.row);
      await (rows.length === 1 ? insertOne(db, rows[0]!) : insertMany(db, rows));
      for (const w of batch) w.done();
    } catch (err) {
      if (batch.length === 1) batch[0]!.done(err);
      else for (const w of batch) await insertOne(db, w.row).then(() => w.done(), w.done);
    }
  }
  q.busy = false;
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
