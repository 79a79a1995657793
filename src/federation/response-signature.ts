import { createHash } from 'node:crypto';
import { CompactSign, compactVerify, decodeProtectedHeader } from 'jose';
import type { JWK } from 'jose';
import { ALGORITHM } from './keyring.ts';
import type { Keyring } from './keyring.ts';
import { importedKey, thumbprint } from './pinned-keys.ts';

// The served node signs each answer to a peer: a compact JWS over the SHA-256 digest of the
// exact body, the request's jti and the audience. The puller checks it before ingesting anything
// and keeps it as a receipt.

export const RESPONSE_SIGNATURE_HEADER = 'X-Vigil-Response-Signature';

/**
 * `last` is the page's X-TAXII-Date-Added-Last: the puller's next cursor travels in a header, so
 * it is signed too — a changed header could otherwise make a puller skip objects.
 */
export type ResponseClaims = { iss: string; aud: string; jti: string; digest: string; iat: number; last?: string };

export function bodyDigest(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('base64url');
}

export async function signResponse(
  keyring: Keyring,
  body: string | Uint8Array,
  audience: string,
  jti: string,
  last?: string | null,
): Promise<string> {
  const { kid, key } = await keyring.signingKey();
  const claims: ResponseClaims = { iss: keyring.nodeId, aud: audience, jti, digest: bodyDigest(body), iat: Math.floor(Date.now() / 1000) };
  if (last) claims.last = last;
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: ALGORITHM, kid, typ: 'vigil-response+jws' })
    .sign(key);
}

export class ResponseSignatureError extends Error {
  override name = 'ResponseSignatureError';
}

/** Verifies a response's signature with the served node's pinned keys; the body is bytes as received. */
export async function verifyResponse(
  signature: string | null | undefined,
  body: string | Uint8Array,
  expected: { issuer: string; audience: string; jti: string; keys: JWK[] },
): Promise<ResponseClaims> {
  if (!signature) throw new ResponseSignatureError('the response is not signed');
  let kid: string | undefined;
  try {
    const header = decodeProtectedHeader(signature);
    if (header.alg !== ALGORITHM) throw new ResponseSignatureError(`alg must be ${ALGORITHM}`);
    kid = header.kid;
  } catch (err) {
    throw err instanceof ResponseSignatureError ? err : new ResponseSignatureError('the signature is not a JWS');
  }
  let jwk: JWK | undefined;
  for (const k of expected.keys) if ((await thumbprint(k)) === kid) jwk = k;
  if (!jwk) throw new ResponseSignatureError(`key ${kid} is not pinned for '${expected.issuer}'`);
  let claims: ResponseClaims;
  try {
    const { payload } = await compactVerify(signature, await importedKey(jwk), { algorithms: [ALGORITHM] });
    claims = JSON.parse(new TextDecoder().decode(payload)) as ResponseClaims;
  } catch {
    throw new ResponseSignatureError('the signature does not verify');
  }
  if (claims.iss !== expected.issuer || claims.aud !== expected.audience || claims.jti !== expected.jti) {
    throw new ResponseSignatureError('the signature was made for another request');
  }
  if (claims.digest !== bodyDigest(body)) throw new ResponseSignatureError('the body does not match its signature');
  return claims;
}
