import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new client or admin token: 256 random bits, shown once, stored only as a hash. */
export function generateToken(): string {
  return `vgl_${randomBytes(32).toString('base64url')}`;
}

/** Tokens are high-entropy, so a plain SHA-256 (no salt, no stretching) is what protects them at rest. */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
