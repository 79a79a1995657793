import canonicalize from 'canonicalize';
import { createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import type { JWK } from 'jose';
import { ALGORITHM } from './keyring.ts';
import type { Keyring } from './keyring.ts';

// The node where an object version enters the federation signs it: a detached JWS over the
// object's canonical JSON (RFC 8785), so a node three hops away can check who originated it
// and that no relay altered it.

function canonicalBytes(object: unknown): Uint8Array {
  const text = canonicalize(object);
  if (text === undefined) throw new Error('the object has no canonical JSON form');
  return new TextEncoder().encode(text);
}

/**
 * `<protected header>..<signature>`: a compact JWS with the payload left out (RFC 7515, F).
 * Signed with node:crypto directly, synchronously: a 25,000-object bundle signs in well under a
 * second, where the asynchronous WebCrypto path took several. Verified with jose.
 */
export function signOrigin(keyring: Keyring, object: unknown): string {
  const { kid, key } = keyring.signingKeyObject();
  return signWith(originHeader(kid, keyring.nodeId), key, object);
}

function originHeader(kid: string, nodeId: string): string {
  return Buffer.from(JSON.stringify({ alg: ALGORITHM, kid, iss: nodeId, typ: 'vigil-origin+jws' })).toString('base64url');
}

function signWith(header: string, key: KeyObject, object: unknown): string {
  const input = `${header}.${Buffer.from(canonicalBytes(object)).toString('base64url')}`;
  return `${header}..${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

export class OriginSignatureError extends Error {
  override name = 'OriginSignatureError';
}

/** Thumbprint and key object of a JWK, computed once: a pulled page checks a thousand signatures. */
const verifiers = new Map<string, { kid: string; key: KeyObject }>();

async function verifier(jwk: JWK): Promise<{ kid: string; key: KeyObject } | undefined> {
  const id = JSON.stringify(jwk);
  let v = verifiers.get(id);
  if (!v) {
    try {
      v = { kid: await calculateJwkThumbprint(jwk, 'sha256'), key: createPublicKey({ key: jwk as never, format: 'jwk' }) };
    } catch {
      return undefined; // not a usable key: it verifies nothing
    }
    if (verifiers.size > 1000) verifiers.clear();
    verifiers.set(id, v);
  }
  return v;
}

/**
 * Checks an origin signature against the keys listed for `originNode` (from the trust list).
 * Verified with node:crypto directly (Ed25519 is the only algorithm accepted), as it is signed.
 * Many may be awaited at once: each check runs on the thread pool.
 */
export async function verifyOrigin(signature: string, object: unknown, originNode: string, keys: JWK[]): Promise<void> {
  const [protectedHeader, empty, sig, extra] = signature.split('.');
  if (!protectedHeader || empty !== '' || !sig || extra !== undefined) throw new OriginSignatureError('not a detached compact JWS');
  let header: { alg?: string; kid?: string; iss?: string; crit?: unknown; b64?: unknown };
  try {
    header = JSON.parse(Buffer.from(protectedHeader, 'base64url').toString('utf8'));
  } catch {
    throw new OriginSignatureError('unreadable header');
  }
  if (header.alg !== ALGORITHM || header.iss !== originNode)
    throw new OriginSignatureError(`not signed by '${originNode}' with ${ALGORITHM}`);
  // What jose refused as a JWS: critical extensions it does not know, an unencoded payload.
  if (header.crit !== undefined || header.b64 !== undefined) throw new OriginSignatureError('unsupported JWS header parameters');
  let key: KeyObject | undefined;
  for (const k of keys) {
    const v = await verifier(k);
    if (v && v.kid === header.kid && v.key.asymmetricKeyType === 'ed25519') key = v.key;
  }
  if (!key) throw new OriginSignatureError(`key ${header.kid} is not listed for '${originNode}'`);
  const input = Buffer.from(`${protectedHeader}.${Buffer.from(canonicalBytes(object)).toString('base64url')}`);
  if (!(await verifyAsync(input, key, Buffer.from(sig, 'base64url'))))
    throw new OriginSignatureError('the object does not match its origin signature');
}

/**
 * Ed25519 verification on libuv's thread pool (node:crypto's callback form), not the event loop:
 * a page's thousand checks run beside each other, and beside the store of the page before.
 */
function verifyAsync(data: Buffer, key: KeyObject, signature: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      verify(null, data, key, signature, (err, valid) => resolve(!err && valid));
    } catch {
      resolve(false); // a malformed signature verifies nothing
    }
  });
}

/** How long a signer keeps the active key before asking the keyring again (a rotation's delay). */
const KEY_RECHECK_MS = 1000;

/**
 * What ingest needs to sign the versions that enter the federation here. It asks the keyring for
 * the active key at most once a second, not per object: each ask reads the keyring file's status
 * (a stat call, 12 µs of a 90 µs per-object budget at ingest in a CPU profile).
 */
export function originSigner(keyring: Keyring): { nodeId: string; sign(object: unknown): string } {
  const nodeId = keyring.nodeId;
  let checked = -Infinity;
  let active: { header: string; key: KeyObject } | undefined;
  return {
    nodeId,
    sign(object) {
      const now = performance.now();
      if (!active || now - checked > KEY_RECHECK_MS) {
        const { kid, key } = keyring.signingKeyObject();
        active = { header: originHeader(kid, nodeId), key };
        checked = now;
      }
      return signWith(active.header, active.key, object);
    },
  };
}
