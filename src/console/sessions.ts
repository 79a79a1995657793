import { createHash, randomBytes } from 'node:crypto';
import type { Deps } from '../deps.ts';
import type { Clearance } from '../policy/levels.ts';
import type { ClientPrincipal, Principal } from '../services/auth.ts';
import { sameHash } from '../services/tokens.ts';
import { deleteExpiredSessions, deleteSessionRow, insertSession, slideSession } from '../store/console-sessions.ts';

// Console sessions live in the database (migrations/0007_console.sql), so any replica serves
// any request and signing out ends a session everywhere. The cookie holds a random 256-bit id;
// the table holds its SHA-256 (store/console-sessions.ts).

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
  await deleteExpiredSessions(db);
  await insertSession(db, {
    idHash: sha256(id),
    clientId: principal.kind === 'client' ? principal.id : null,
    credential: credentialOf(tokenHash),
    csrf,
    idleHours: SESSION_IDLE_HOURS,
  });
  return { id, csrf };
}

/**
 * The live session with this cookie id, its expiry slid forward in the same statement, with the
 * principal as it is now (a client's clearance read afresh); undefined when there is none.
 */
export async function loadSession(deps: Deps, id: string): Promise<ConsoleSession | undefined> {
  if (id.length !== 43) return undefined;
  const hash = sha256(id);
  // The expiry slides at most every few minutes: a page view is not a write each time.
  const row = await slideSession(deps.database.db, hash, {
    idleHours: SESSION_IDLE_HOURS,
    maxDays: SESSION_MAX_DAYS,
    slideMinutes: SLIDE_MINUTES,
  });
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
  await deleteSessionRow(deps.database.db, sha256(id));
}
