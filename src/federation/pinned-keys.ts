import { calculateJwkThumbprint, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { ALGORITHM } from './keyring.ts';

// A pinned key's thumbprint (RFC 7638) and imported form, worked out once per key: every pulled
// page and every signed request looks its key up among the peer's pinned keys by kid.

type Worked = { kid: Promise<string>; key?: Promise<CryptoKey | Uint8Array> };

const worked = new Map<string, Worked>();

function entry(jwk: JWK): Worked {
  const id = JSON.stringify(jwk);
  let w = worked.get(id);
  if (!w) {
    w = { kid: calculateJwkThumbprint(jwk, 'sha256') };
    w.kid.catch(() => {}); // told to each caller
    if (worked.size > 1000) worked.clear();
    worked.set(id, w);
  }
  return w;
}

/** The key's RFC 7638 SHA-256 thumbprint, its kid here; rejects as jose does for a key it cannot read. */
export function thumbprint(jwk: JWK): Promise<string> {
  return entry(jwk).kid;
}

/** The key imported for Ed25519 verification; rejects as jose's importJWK does. */
export function importedKey(jwk: JWK): Promise<CryptoKey | Uint8Array> {
  const w = entry(jwk);
  if (!w.key) {
    w.key = importJWK(jwk, ALGORITHM);
    w.key.catch(() => {});
  }
  return w.key;
}
