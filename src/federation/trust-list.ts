import { calculateJwkThumbprint, compactVerify, CompactSign, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { z } from 'zod';
import { ALGORITHM } from './keyring.ts';

// The federation's trust list: the member nodes, their ids and public keys, signed by the
// federation operator's key, which every node is configured to trust. Nodes learn each other's
// keys from it to check origin signatures.

const ed25519 = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  kid: z.string().optional(),
});

export const trustListDocument = z.strictObject({
  type: z.literal('vigil-trust-list'),
  federation: z.string().min(1).max(200),
  issued: z.iso.datetime(),
  expires: z.iso.datetime(),
  members: z
    .array(z.strictObject({ node_id: z.string().min(1).max(128), base_url: z.url().optional(), keys: z.array(ed25519).min(1) }))
    .min(1),
});
export type TrustList = z.infer<typeof trustListDocument>;

export class TrustListError extends Error {
  override name = 'TrustListError';
}

function parseDocument(json: unknown): TrustList {
  const parsed = trustListDocument.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new TrustListError(`the trust list is malformed: ${i.path.join('.') || 'document'}: ${i.message}`);
  }
  const ids = parsed.data.members.map((m) => m.node_id);
  if (new Set(ids).size !== ids.length) throw new TrustListError('the trust list names a node twice');
  return parsed.data;
}

/** A new operator key pair, as JWKs (the private one to keep offline, the public one for nodes). */
export async function generateOperatorKey(): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(ALGORITHM, { crv: 'Ed25519', extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub, 'sha256');
  return { privateJwk: { ...(await exportJWK(privateKey)), kid, alg: ALGORITHM }, publicJwk: { ...pub, kid, alg: ALGORITHM, use: 'sig' } };
}

/** Signs a trust list document (checked first) with the operator's private key: a compact JWS. */
export async function signTrustList(document: unknown, operatorPrivateJwk: JWK): Promise<string> {
  const list = parseDocument(document);
  const key = (await importJWK(operatorPrivateJwk, ALGORITHM)) as CryptoKey;
  const kid = await calculateJwkThumbprint(
    { kty: operatorPrivateJwk.kty!, crv: operatorPrivateJwk.crv!, x: operatorPrivateJwk.x! },
    'sha256',
  );
  return new CompactSign(new TextEncoder().encode(JSON.stringify(list)))
    .setProtectedHeader({ alg: ALGORITHM, kid, typ: 'vigil-trust-list+jws' })
    .sign(key);
}

/** Verifies a signed trust list against the operator key this node trusts; forged, altered or expired: refused. */
export async function verifyTrustList(jws: string, operatorPublicJwk: JWK, now = new Date()): Promise<TrustList> {
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jws.trim(), await importJWK({ ...operatorPublicJwk, d: undefined }, ALGORITHM), {
      algorithms: [ALGORITHM],
    }));
  } catch {
    throw new TrustListError('the trust list is not signed by the trusted federation operator key');
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw new TrustListError('the trust list is not JSON');
  }
  const list = parseDocument(json);
  if (Date.parse(list.expires) <= now.getTime()) throw new TrustListError(`the trust list expired at ${list.expires}`);
  return list;
}

/** The keys the trust list gives for a node, for checking its origin signatures. */
export function memberKeys(list: TrustList, nodeId: string): JWK[] {
  return list.members.find((m) => m.node_id === nodeId)?.keys ?? [];
}
