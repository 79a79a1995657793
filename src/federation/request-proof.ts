import { randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import type { JWK, JWTPayload } from 'jose';
import { ALGORITHM } from './keyring.ts';
import type { Keyring } from './keyring.ts';
import { importedKey, thumbprint } from './pinned-keys.ts';

// A pull is ordinary TAXII, authenticated by a short-lived proof: a JWT signed with the puller's
// key, bound to the served node (aud), the method and URL, valid 60 s at most, with a jti the
// served node remembers until it expires.

export const PROOF_SCHEME = 'Vigil-Proof';
export const MAX_PROOF_SECONDS = 60;

export type ProofClaims = { iss: string; aud: string; htm: string; htu: string; jti: string; iat: number; exp: number };

export async function createRequestProof(
  keyring: Keyring,
  audience: string,
  method: string,
  url: string,
  lifetimeSeconds = 30,
): Promise<{ token: string; jti: string }> {
  const { kid, key } = await keyring.signingKey();
  const jti = randomUUID();
  const token = await new SignJWT({ htm: method.toUpperCase(), htu: url })
    .setProtectedHeader({ alg: ALGORITHM, kid, typ: 'vigil-proof+jwt' })
    .setIssuer(keyring.nodeId)
    .setAudience(audience)
    .setJti(jti)
    .setIssuedAt()
    .setExpirationTime(`${Math.min(lifetimeSeconds, MAX_PROOF_SECONDS)}s`)
    .sign(key);
  return { token, jti };
}

export class ProofError extends Error {
  override name = 'ProofError';
}

/** What the verifier needs to know about the peer a proof claims to come from. */
export type PinnedPeer = { nodeId: string; keys: JWK[] };

/**
 * Checks a proof against the keys pinned for its issuer (never keys fetched from the peer),
 * the audience, method and URL, and the lifetime. The caller checks the jti for replays.
 */
export async function verifyRequestProof(
  token: string,
  expected: { audience: string; method: string; url: string },
  findPeer: (nodeId: string) => Promise<PinnedPeer | undefined>,
): Promise<ProofClaims> {
  let kid: string | undefined;
  let iss: string | undefined;
  try {
    const header = decodeProtectedHeader(token);
    if (header.alg !== ALGORITHM) throw new ProofError(`alg must be ${ALGORITHM}`);
    kid = header.kid;
    iss = decodeJwt(token).iss;
  } catch (err) {
    throw err instanceof ProofError ? err : new ProofError('the proof is not a JWT');
  }
  if (!kid || !iss) throw new ProofError('the proof names no key (kid) or no issuer (iss)');
  const peer = await findPeer(iss);
  if (!peer) throw new ProofError(`no peer node '${iss}' is registered here`);
  let jwk: JWK | undefined;
  for (const k of peer.keys) if ((await thumbprint(k)) === kid) jwk = k;
  if (!jwk) throw new ProofError(`key ${kid} is not pinned for peer '${iss}'`);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, await importedKey(jwk), {
      algorithms: [ALGORITHM],
      issuer: iss,
      audience: expected.audience,
      requiredClaims: ['jti', 'iat', 'exp', 'htm', 'htu'],
      clockTolerance: 5,
    }));
  } catch (err) {
    throw new ProofError(`the proof does not verify: ${(err as Error).message}`);
  }
  const claims = payload as unknown as ProofClaims;
  if (claims.exp - claims.iat > MAX_PROOF_SECONDS) throw new ProofError(`a proof may live ${MAX_PROOF_SECONDS} seconds at most`);
  if (claims.htm !== expected.method.toUpperCase() || claims.htu !== expected.url) {
    throw new ProofError('the proof was made for another request');
  }
  return claims;
}
