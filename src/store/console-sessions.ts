import { sql } from 'kysely';
import type { Db } from './database.ts';

// The web console's sessions (migrations/0007_console.sql): rows keyed by the SHA-256 of the
// cookie's id, bound to a hash of the credential that signed in (console/sessions.ts).

export type SessionRow = {
  client_id: string | null;
  credential: Uint8Array;
  csrf_secret: string;
  name: string | null;
  kind: 'client' | 'peer' | null;
  clearance: number | null;
  own_org: boolean | null;
  peer_amber: boolean | null;
  token_hash: Uint8Array | null;
};

/** Expired sessions go at each sign-in: no timer, and nothing grows without bound. */
export async function deleteExpiredSessions(db: Db): Promise<void> {
  await sql`DELETE FROM console_sessions WHERE expires_at < now()`.execute(db);
}

export async function insertSession(
  db: Db,
  s: { idHash: Buffer; clientId: string | null; credential: Buffer; csrf: string; idleHours: number },
): Promise<void> {
  await sql`INSERT INTO console_sessions (id_hash, client_id, credential, csrf_secret, expires_at)
    VALUES (${s.idHash}, ${s.clientId}, ${s.credential}, ${s.csrf}, now() + ${s.idleHours} * interval '1 hour')`.execute(db);
}

/**
 * The live session under this id hash, with its client as it is now (clearance read afresh), its
 * expiry slid forward in the same statement when it is more than `slideMinutes` behind.
 */
export async function slideSession(
  db: Db,
  idHash: Buffer,
  t: { idleHours: number; maxDays: number; slideMinutes: number },
): Promise<SessionRow | undefined> {
  const r = await sql<SessionRow>`
    WITH s AS (
      SELECT client_id, credential, csrf_secret FROM console_sessions WHERE id_hash = ${idHash} AND expires_at > now()),
    slid AS (
      UPDATE console_sessions
      SET expires_at = least(now() + ${t.idleHours} * interval '1 hour', created + ${t.maxDays} * interval '1 day')
      WHERE id_hash = ${idHash} AND expires_at > now()
        AND expires_at < now() + ${t.idleHours} * interval '1 hour' - ${t.slideMinutes} * interval '1 minute'
      RETURNING 1)
    SELECT s.client_id, s.credential, s.csrf_secret, c.name, c.kind, c.clearance, c.own_org, c.peer_amber, c.token_hash
    FROM s LEFT JOIN clients c ON c.id = s.client_id`.execute(db);
  return r.rows[0];
}

export async function deleteSessionRow(db: Db, idHash: Buffer): Promise<void> {
  await sql`DELETE FROM console_sessions WHERE id_hash = ${idHash}`.execute(db);
}
