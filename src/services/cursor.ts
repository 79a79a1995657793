import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { VigilError } from '../errors.ts';

// TAXII `next` tokens carry the keyset position themselves, signed with a key kept in the
// database, so any replica, before or after a restart, resumes a client's paging.

export type CursorKey = Buffer;

function mac(key: CursorKey, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}

/** A short fingerprint of the filters a token was issued for. */
export function filterHash(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16);
}

export function encodeCursor(key: CursorKey, position: string, filters: string): string {
  const payload = Buffer.from(JSON.stringify({ p: position, f: filters })).toString('base64url');
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

/** The position inside a token; a forged, garbled or foreign token is a 400. */
export function decodeCursor(key: CursorKey, token: string, filters: string): string {
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined || !/^[\w-]+$/.test(payload) || !/^[\w-]+$/.test(signature)) {
    throw new VigilError('invalid-cursor', 'next: the token is malformed');
  }
  const expected = mac(key, payload);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new VigilError('invalid-cursor', 'next: the token was not issued by this node');
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new VigilError('invalid-cursor', 'next: the token is malformed');
  }
  const { p, f } = (body ?? {}) as { p?: unknown; f?: unknown };
  if (typeof p !== 'string' || typeof f !== 'string') throw new VigilError('invalid-cursor', 'next: the token is malformed');
  if (f !== filters) throw new VigilError('invalid-cursor', 'next: the token was issued for other filters');
  return p;
}
