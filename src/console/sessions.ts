import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Deps } from '../deps.ts';
import type { Clearance } from '../policy/levels.ts';
import type { ClientPrincipal, Principal } from '../services/auth.ts';
import { sameHash } from '../services/tokens.ts';

// Console sessions live in the database (migrations/0007_console.sql), so any replica serves
// any request and signing out ends a session everywhere. The cookie holds a random 256-bit id;
// the table holds its SHA-256. The SQL sits here because the table belongs to the console alone.

export const SESSION_IDLE_HOURS = 12;
export const SESSION_MAX_DAYS = 7;
const SLIDE_MINUTES = 5;

export type SignedIn = Exclude<Principal, { kind: 'anonymous' }>;
export type ConsoleSession = { principal: SignedIn; csrf: string };

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

/** What a session is bound to: a hash of the credential's stored hash, never the token itself. */
function credentialOf(tokenHash: Uint8Array): Buffer {
  return sha256(tokenHash);
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Starts a session for a principal that has just authenticated with a token hashing to tokenHash. */
export async function createSession(deps: Deps, principal: SignedIn, tokenHash: Uint8Array): Promise<{ id: string; csrf: string }> {
  const id = newSecret();
  const csrf = newSecret();
  const db = deps.database.db;
  // Expired sessions are swept at each sign-in: no timer, and nothing grows without bound.
  await sql`DELETE FROM console_sessions WHERE expires_at < now()`.execute(db);
  await sql`INSERT INTO console_sessions (id_hash, client_id, credential, csrf_secret, expires_at)
    VALUES (${sha256(id)}, ${principal.kind === 'client' ? principal.id : null}, ${credentialOf(tokenHash)}, ${csrf},
            now() + ${SESSION_IDLE_HOURS} * interval '1 hour')`.execute(db);
  return { id, csrf };
}

type Row = {
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

/**
 * The live session with this cookie id, its expiry slid forward in the same statement, with the
 * principal as it is now (a client's clearance read afresh); undefined when there is none.
 */
export async function loadSession(deps: Deps, id: string): Promise<ConsoleSession | undefined> {
  if (id.length !== 43) return undefined;
  const hash = sha256(id);
  // The expiry slides at most every few minutes: a page view is not a write each time.
  const r = await sql<Row>`
    WITH s AS (
      SELECT client_id, credential, csrf_secret FROM console_sessions WHERE id_hash = ${hash} AND expires_at > now()),
    slid AS (
      UPDATE console_sessions
      SET expires_at = least(now() + ${SESSION_IDLE_HOURS} * interval '1 hour', created + ${SESSION_MAX_DAYS} * interval '1 day')
      WHERE id_hash = ${hash} AND expires_at > now()
        AND expires_at < now() + ${SESSION_IDLE_HOURS} * interval '1 hour' - ${SLIDE_MINUTES} * interval '1 minute'
      RETURNING 1)
    SELECT s.client_id, s.credential, s.csrf_secret, c.name, c.kind, c.clearance, c.own_org, c.peer_amber, c.token_hash
    FROM s LEFT JOIN clients c ON c.id = s.client_id`.execute(deps.database.db);
  const row = r.rows[0];
  if (!row) return undefined;
  const credential = Buffer.from(row.credential);
  if (row.client_id === null) {
    if (!sameHash(credential, credentialOf(deps.adminTokenHash))) return undefined;
    return { principal: { kind: 'admin' }, csrf: row.csrf_secret };
  }
  if (!row.token_hash || row.kind !== 'client' || !sameHash(credential, credentialOf(Buffer.from(row.token_hash)))) return undefined;
  const principal: ClientPrincipal = {
    kind: 'client',
    id: row.client_id,
    name: row.name!,
    role: row.kind,
    clearance: row.clearance as Clearance,
    ownOrg: row.own_org!,
    peerAmber: row.peer_amber!,
  };
  return { principal, csrf: row.csrf_secret };
}

export async function deleteSession(deps: Deps, id: string): Promise<void> {
  await sql`DELETE FROM console_sessions WHERE id_hash = ${sha256(id)}`.execute(deps.database.db);
}
