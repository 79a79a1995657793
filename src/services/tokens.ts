import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new client or admin token: 256 random bits, shown once, stored only as a hash. */
export function generateToken(): string {
  return `vgl_${randomBytes(32).toString('base64url')}`;
}

/**
 * Tokens are high-entropy, so a plain SHA-256 (no salt, no stretching) is what protects them at rest.
 * One-shot (every request hashes its token): half the cost of a Hash object.
 */
export function hashToken(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
