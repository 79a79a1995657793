import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { VigilError } from '../errors.ts';

// TAXII `next` tokens carry the keyset position themselves, sealed with AES-256-GCM under a key
// derived from the one kept in the database, so any replica, before or after a restart, resumes
// a caller's paging. The caller is authenticated data: to anyone else a token is a forgery.

export type CursorKey = Buffer;

/** What a token is bound to: the filters it was issued for, and who received it (audit.ts's recipientName). */
export type CursorBinding = { filters: string; recipient: string };

const VERSION = 1;
const SALT_BYTES = 16;
const TAG_BYTES = 16;
const MAX_TOKEN_CHARS = 512;
// Every token has a key of its own, from a random 128-bit salt, so the fixed nonce is never reused.
const NONCE = Buffer.alloc(12);

function tokenKey(key: CursorKey, salt: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', key, salt, 'vigil/next-token/v1', 32));
}

const associated = (recipient: string) => Buffer.from(`vigil/next-token/v${VERSION}\n${recipient}`, 'utf8');

/** A short fingerprint of the filters a token was issued for. */
export function filterHash(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16);
}

/** An opaque, URL-safe token: version, salt, the sealed filters and position, and the GCM tag. */
export function encodeCursor(key: CursorKey, position: string, binding: CursorBinding): string {
  const salt = randomBytes(SALT_BYTES);
  const cipher = createCipheriv('aes-256-gcm', tokenKey(key, salt), NONCE, { authTagLength: TAG_BYTES });
  cipher.setAAD(associated(binding.recipient));
  const sealed = Buffer.concat([cipher.update(`${binding.filters} ${position}`, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), salt, sealed, cipher.getAuthTag()]).toString('base64url');
}

/** The position inside a token; a forged, garbled or foreign token, or another caller's, is a 400. */
export function decodeCursor(key: CursorKey, token: string, binding: CursorBinding): string {
  const raw = token.length <= MAX_TOKEN_CHARS && /^[\w-]+$/.test(token) ? Buffer.from(token, 'base64url') : undefined;
  if (!raw || raw.length <= 1 + SALT_BYTES + TAG_BYTES || raw[0] !== VERSION)
    throw new VigilError('invalid-cursor', 'next: the token is malformed');
  const salt = raw.subarray(1, 1 + SALT_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', tokenKey(key, salt), NONCE, { authTagLength: TAG_BYTES });
  decipher.setAAD(associated(binding.recipient));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  let plain: string;
  try {
    plain = Buffer.concat([decipher.update(raw.subarray(1 + SALT_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new VigilError('invalid-cursor', 'next: the token was not issued by this node to this caller');
  }
  const space = plain.indexOf(' ');
  if (plain.slice(0, space) !== binding.filters) throw new VigilError('invalid-cursor', 'next: the token was issued for other filters');
  return plain.slice(space + 1);
}
