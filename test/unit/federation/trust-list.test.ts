import { CompactSign, importJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateOperatorKey, memberKeys, signTrustList, TrustListError, verifyTrustList } from '../../../src/federation/trust-list.ts';
import type { JWK } from 'jose';

let operator: { privateJwk: JWK; publicJwk: JWK };
let impostor: { privateJwk: JWK; publicJwk: JWK };
const memberKey = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
const doc = (over: Record<string, unknown> = {}) => ({
  type: 'vigil-trust-list',
  federation: 'EU health CSIRTs',
  issued: '2026-11-01T00:00:00Z',
  expires: '2027-11-01T00:00:00Z',
  members: [
    { node_id: 'node-fr', keys: [memberKey] },
    { node_id: 'node-de', base_url: 'https://cti.example.de', keys: [memberKey] },
  ],
  ...over,
});
const now = new Date('2026-11-23T00:00:00Z');

beforeAll(async () => {
  operator = await generateOperatorKey();
  impostor = await generateOperatorKey();
});

describe('the federation trust list', () => {
  it('verifies when signed by the trusted operator key, and gives each member its keys', async () => {
    const jws = await signTrustList(doc(), operator.privateJwk);
    const list = await verifyTrustList(jws, operator.publicJwk, now);
    expect(list.members.map((m) => m.node_id)).toEqual(['node-fr', 'node-de']);
    expect(memberKeys(list, 'node-de')).toEqual([memberKey]);
    expect(memberKeys(list, 'node-xx')).toEqual([]);
  });

  it('is refused when forged: signed by another key, altered, or expired', async () => {
    const forged = await signTrustList(doc(), impostor.privateJwk);
    await expect(verifyTrustList(forged, operator.publicJwk, now)).rejects.toThrow(/not signed by the trusted/);
    const jws = await signTrustList(doc(), operator.privateJwk);
    const [h, , s] = jws.split('.');
    const altered = `${h}.${Buffer.from(JSON.stringify(doc({ federation: 'evil' }))).toString('base64url')}.${s}`;
    await expect(verifyTrustList(altered, operator.publicJwk, now)).rejects.toThrow(TrustListError);
    await expect(verifyTrustList(jws, operator.publicJwk, new Date('2028-01-01T00:00:00Z'))).rejects.toThrow(/expired/);
    await expect(verifyTrustList('garbage', operator.publicJwk, now)).rejects.toThrow(TrustListError);
  });

  it('refuses to sign, or to accept, a malformed document', async () => {
    await expect(signTrustList(doc({ members: [] }), operator.privateJwk)).rejects.toThrow(/members/);
    await expect(
      signTrustList(
        {
          ...doc(),
          members: [
            { node_id: 'a', keys: [memberKey] },
            { node_id: 'a', keys: [memberKey] },
          ],
        },
        operator.privateJwk,
      ),
    ).rejects.toThrow(/twice/);
    // a well-signed payload that is not a trust list
    const key = await importJWK(operator.privateJwk, 'EdDSA');
    const odd = await new CompactSign(new TextEncoder().encode('{"type":"other"}')).setProtectedHeader({ alg: 'EdDSA' }).sign(key);
    await expect(verifyTrustList(odd, operator.publicJwk, now)).rejects.toThrow(/malformed/);
  });
});
