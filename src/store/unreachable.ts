import { WriteLeaseExpired } from './write-horizon.ts';

// A database the node cannot reach right now (the server down or restarting, the connection cut,
// the pool ended, PGlite's worker gone) is an outage, not a bug: the API answers 503 (app.ts).

/** Class 08 (connection exception) and 57P01-57P03 (admin or crash shutdown, cannot connect now). */
const SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123])$/;

/** Node's socket errors, as node-postgres passes them on. */
const SOCKET = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

// node-postgres and pg-pool say these in words only.
const MESSAGES = [
  /^Connection terminated\b/, // unexpectedly, or due to connection timeout
  /^timeout exceeded when trying to connect$/,
  /^timeout expired$/, // a session that did not open within the connect timeout (database.ts)
  /^Client (has encountered a connection error|was closed) and is not queryable$/,
  /^Cannot use a pool after calling end on the pool$/,
];

/** True when `err` (or an error it wraps) says the database is unreachable rather than that a statement failed. */
export function isDatabaseUnreachable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const { code, severity } = e as { code?: unknown; severity?: unknown };
    if (typeof code === 'string' && (SQLSTATE.test(code) || SOCKET.has(code))) return true;
    // PostgreSQL ends the session after a FATAL error: at connection (no such database, too many
    // connections, not accepting connections) or during it (terminated).
    if (severity === 'FATAL' || severity === 'PANIC') return true;
    if (MESSAGES.some((m) => m.test(e.message))) return true;
    if (e instanceof AggregateError && e.errors.some(isDatabaseUnreachable)) return true;
  }
  return false;
}

/**
 * Class 53, insufficient resources (53100 disk full, 53200 out of memory, 53300 too many
 * connections): the statement failed whole and the database goes on; the request may be tried
 * again once an operator has made room. An outage of a kind (503), not a bug.
 */
export function isDatabaseExhausted(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const { code } = e as { code?: unknown };
    if (typeof code === 'string' && /^53[0-9A-Z]{3}$/.test(code)) return true;
  }
  return false;
}

/**
 * A write that met another at the same rows in a cycle (40P01, PostgreSQL broke it by failing
 * this one), that could not be serialized (40001), or that outlived its write lease: nothing of it
 * was stored, and the same request may simply be sent again.
 */
export function isWriteConflict(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof WriteLeaseExpired) return true;
    const { code } = e as { code?: unknown };
    if (code === '40P01' || code === '40001') return true;
  }
  return false;
}
