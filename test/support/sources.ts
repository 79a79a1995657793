import { sql } from 'kysely';
import type { Deps } from '../../src/deps.ts';
import { createPeerClients } from '../../src/federation/peer-client.ts';
import { pullSource } from '../../src/services/pull.ts';
import type { PullOutcome } from '../../src/services/pull.ts';
import type { Db } from '../../src/store/database.ts';
import { claimSource } from '../../src/store/sources.ts';
import type { ClaimedSource } from '../../src/store/sources.ts';

// What the source tests read back from the database: a source's row, and what a collection holds.

export type SourceRow = { cursor: string | null; consecutive_failures: number; last_error: string | null; wait: number };

/** A source's cursor, failures and last error, and how many seconds until it is due again. */
export const sourceRow = async (db: Db, id: string): Promise<SourceRow> =>
  (
    await sql<SourceRow>`
      SELECT cursor, consecutive_failures, last_error, extract(epoch FROM next_attempt - now())::float8 AS wait
      FROM sources WHERE id = ${id}`.execute(db)
  ).rows[0]!;

/** How many versions of each id the collection holds. */
export const versionCounts = async (db: Db, col: string): Promise<Record<string, number>> =>
  Object.fromEntries(
    (
      await sql<{ id: string; n: number }>`SELECT id, count(*)::int AS n FROM objects WHERE collection_id = ${col} GROUP BY id`.execute(db)
    ).rows.map((r) => [r.id, r.n]),
  );

/** Another replica takes the source over, as if the lease of the run in flight had run out. */
export async function takeOver(db: Db, id: string): Promise<ClaimedSource> {
  await sql`UPDATE sources SET lease_until = now() - interval '1 second' WHERE id = ${id}`.execute(db);
  const other = await claimSource(db, '00000000-0000-4000-8000-000000000001', 120, id);
  if (!other) throw new Error('the other replica could not claim the source');
  return other;
}

/** A run of a claimed source by that other replica, with HTTP clients of its own. */
export async function pullAsReplica(deps: Deps, claimed: ClaimedSource): Promise<PullOutcome> {
  const clients = createPeerClients();
  try {
    return await pullSource(deps, clients, claimed);
  } finally {
    await clients.close();
  }
}
