import { CompactSign, compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import type { JWK } from 'jose';
import { z } from 'zod';
import { bodyDigest } from '../federation/response-signature.ts';
import { ALGORITHM } from '../federation/keyring.ts';
import type { Keyring } from '../federation/keyring.ts';

// A webhook receiver checks an alert against the node's /.well-known/jwks.json: a compact JWS
// whose claims bind the SHA-256 digest of the exact body, the alert id (its idempotency key)
// and the subscription, signed with the node's current key.

export const ALERT_SIGNATURE_HEADER = 'Vigil-Signature';
export const ALERT_ID_HEADER = 'Idempotency-Key';
export const ALERT_TYPE = 'vigil-alert+jws';

export type AlertClaims = { iss: string; sub: string; jti: string; digest: string; iat: number };

export async function signAlert(keyring: Keyring, body: string, alertId: string, subscriptionId: string): Promise<string> {
  const { kid, key } = await keyring.signingKey();
  const claims: AlertClaims = {
    iss: keyring.nodeId,
    sub: subscriptionId,
    jti: alertId,
    digest: bodyDigest(body),
    iat: Math.floor(Date.now() / 1000),
  };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: ALGORITHM, kid, typ: ALERT_TYPE })
    .sign(key);
}

const jwkSet = z.object({ keys: z.array(z.looseObject({ kid: z.string().optional(), kty: z.string() })) });

export class AlertSignatureError extends Error {
  override name = 'AlertSignatureError';
}

/**
 * What a receiver does (and the tests do): find the key by `kid` in the node's JWKS, verify,
 * then check the digest against the body bytes as received.
 */
export async function verifyAlert(signature: string | null | undefined, body: string | Uint8Array, jwks: unknown): Promise<AlertClaims> {
  if (!signature) throw new AlertSignatureError('the alert is not signed');
  const keySet = jwkSet.safeParse(jwks);
  if (!keySet.success) throw new AlertSignatureError('the key set is not a JWKS ({"keys": [...]})');
  let kid: string | undefined;
  try {
    const header = decodeProtectedHeader(signature);
    if (header.alg !== ALGORITHM || header.typ !== ALERT_TYPE)
      throw new AlertSignatureError(`expected alg ${ALGORITHM}, typ ${ALERT_TYPE}`);
    kid = header.kid;
  } catch (err) {
    throw err instanceof AlertSignatureError ? err : new AlertSignatureError('the signature is not a JWS');
  }
  const jwk = keySet.data.keys.find((k) => k.kid === kid) as JWK | undefined;
  if (!jwk) throw new AlertSignatureError(`no key ${kid} in the node's JWKS`);
  let claims: AlertClaims;
  try {
    const { payload } = await compactVerify(signature, await importJWK(jwk, ALGORITHM), { algorithms: [ALGORITHM] });
    claims = JSON.parse(new TextDecoder().decode(payload)) as AlertClaims;
  } catch {
    throw new AlertSignatureError('the signature does not verify');
  }
  if (claims.digest !== bodyDigest(body)) throw new AlertSignatureError('the body does not match its signature');
  return claims;
}
