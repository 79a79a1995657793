import { beforeAll, describe, expect, it } from 'vitest';
import type { Keyring } from '../../../src/federation/keyring.ts';
import { freshKeyring } from '../../support/keyring.ts';
import {
  MAX_BATCH_LEAVES,
  OriginSignatureError,
  originLeaf,
  originSigner,
  readIntake,
  signOrigin,
  signOriginBatch,
  verifyOrigin,
} from '../../../src/federation/origin-signature.ts';
import type { BatchChecks } from '../../../src/federation/origin-signature.ts';
import { leafHash } from '../../../src/federation/merkle.ts';
import canonicalize from 'canonicalize';
import { compactVerify, FlattenedSign, importJWK } from 'jose';

let ring: Keyring;
let other: Keyring;
beforeAll(async () => {
  ring = await freshKeyring('node-c');
  other = await freshKeyring('node-b');
});

const object = {
  type: 'indicator',
  id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f',
  name: 'é €',
  pattern: "[ipv4-addr:value = '198.51.100.7']",
  n: 1.5e21,
  nested: { b: 1, a: [true, null] },
};

describe('origin signatures (detached JWS over RFC 8785 canonical JSON)', () => {
  it('verify for the same object whatever its key order or spacing', async () => {
    const sig = signOrigin(ring, object);
    expect(sig).toMatch(/^[\w-]+\.\.[\w-]+$/);
    const reordered = JSON.parse(
      JSON.stringify({
        nested: { a: [true, null], b: 1 },
        n: 1.5e21,
        pattern: object.pattern,
        name: object.name,
        id: object.id,
        type: object.type,
      }),
    );
    await expect(verifyOrigin(sig, reordered, 'node-c', ring.publicKeys())).resolves.toBeUndefined();
  });

  it("are made alike by ingest's signer, which asks the keyring for its key once, not per object", async () => {
    let asked = 0;
    const counting: Keyring = Object.assign(Object.create(ring) as Keyring, {
      signingKeyObject: (now?: Date) => {
        asked++;
        return ring.signingKeyObject(now);
      },
    });
    const signer = originSigner(counting);
    expect(signer.nodeId).toBe('node-c');
    const sigs = Array.from({ length: 50 }, (_, i) => signer.sign({ ...object, n: i }));
    expect(asked).toBe(1);
    expect(sigs[0]!.split('.')[0]).toBe(signOrigin(ring, object).split('.')[0]);
    for (const [i, sig] of sigs.entries())
      await expect(verifyOrigin(sig, { ...object, n: i }, 'node-c', ring.publicKeys())).resolves.toBeUndefined();
  });

  it('refuse an altered object, another origin, an unlisted key, and garbage', async () => {
    const sig = signOrigin(ring, object);
    await expect(verifyOrigin(sig, { ...object, name: 'changed' }, 'node-c', ring.publicKeys())).rejects.toThrow(/does not match/);
    await expect(verifyOrigin(sig, object, 'node-b', ring.publicKeys())).rejects.toThrow(OriginSignatureError);
    await expect(verifyOrigin(sig, object, 'node-c', other.publicKeys())).rejects.toThrow(/not listed/);
    for (const junk of ['', 'a.b.c', 'x..y', `${sig}.x`])
      await expect(verifyOrigin(junk, object, 'node-c', ring.publicKeys())).rejects.toThrow(OriginSignatureError);
  });

  it('agree with jose: a detached JWS that jose makes over the canonical JSON verifies here, one flipped bit does not', async () => {
    const { kid, key } = await ring.signingKey();
    const payload = new TextEncoder().encode(canonicalize(object)!);
    const jws = await new FlattenedSign(payload)
      .setProtectedHeader({ alg: 'EdDSA', kid, iss: 'node-c', typ: 'vigil-origin+jws' })
      .sign(key);
    await expect(verifyOrigin(`${jws.protected}..${jws.signature}`, object, 'node-c', ring.publicKeys())).resolves.toBeUndefined();
    const flipped = jws.signature.slice(0, 10) + (jws.signature[10] === 'A' ? 'B' : 'A') + jws.signature.slice(11);
    await expect(verifyOrigin(`${jws.protected}..${flipped}`, object, 'node-c', ring.publicKeys())).rejects.toThrow(/does not match/);
  });
});

const versions = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ ...object, id: `indicator--00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, n: i }));

describe('batch origin signatures (one JWS over the Merkle root of salted leaves)', () => {
  it('let each version of a batch be checked alone, whatever its key order', async () => {
    const batch = versions(37);
    const sigs = signOriginBatch(
      ring,
      batch.map((o) => originLeaf(o)),
    );
    expect(new Set(sigs.map((s) => s.split('~')[0])).size).toBe(1);
    for (const [i, o] of batch.entries()) {
      const reordered = Object.fromEntries(Object.entries(o).reverse());
      await expect(verifyOrigin(sigs[i]!, reordered, 'node-c', ring.publicKeys())).resolves.toBeUndefined();
    }
  });

  it("refuse an altered version, another version's signature, an altered salt, index or path, another origin and an unlisted key", async () => {
    const batch = versions(5);
    const sigs = signOriginBatch(
      ring,
      batch.map((o) => originLeaf(o)),
    );
    const keys = ring.publicKeys();
    await expect(verifyOrigin(sigs[2]!, { ...batch[2]!, name: 'changed' }, 'node-c', keys)).rejects.toThrow(/does not match/);
    await expect(verifyOrigin(sigs[3]!, batch[2]!, 'node-c', keys)).rejects.toThrow(/does not match/);
    const [jws, salt, index, path] = sigs[2]!.split('~') as [string, string, string, string];
    const flip = (t: string) => (t[0] === 'A' ? 'B' : 'A') + t.slice(1);
    for (const bad of [
      `${jws}~${flip(salt)}~${index}~${path}`,
      `${jws}~${salt}~${Number(index) + 1}~${path}`,
      `${jws}~${salt}~${index}~${flip(path)}`,
      `${jws}~${salt}~${index}~${path.split('.').slice(1).join('.')}`,
    ])
      await expect(verifyOrigin(bad, batch[2]!, 'node-c', keys)).rejects.toThrow(OriginSignatureError);
    await expect(verifyOrigin(sigs[2]!, batch[2]!, 'node-b', keys)).rejects.toThrow(/not signed by 'node-b'/);
    await expect(verifyOrigin(sigs[2]!, batch[2]!, 'node-c', other.publicKeys())).rejects.toThrow(/not listed/);
    const [h, p, sig] = jws.split('.') as [string, string, string];
    await expect(verifyOrigin(`${h}.${p}.${flip(sig)}~${salt}~${index}~${path}`, batch[2]!, 'node-c', keys)).rejects.toThrow(
      /batch does not match/,
    );
    for (const junk of [
      `${jws}~${salt}~${index}`,
      `${jws}~${salt}~01~${path}`,
      `${jws}~${salt}~${index}~${path}~x`,
      `~~~`,
      `${h}..${sig}~${salt}~0~`,
    ])
      await expect(verifyOrigin(junk, batch[2]!, 'node-c', keys)).rejects.toThrow(OriginSignatureError);
  });

  it('never pass for the other form: a batch header over one object, or a detached signature read as a batch', async () => {
    const [batchSig] = signOriginBatch(ring, [originLeaf(object)]);
    const [h, , s] = batchSig!.split('~')[0]!.split('.');
    await expect(verifyOrigin(`${h}..${s}`, object, 'node-c', ring.publicKeys())).rejects.toThrow(/not a vigil-origin\+jws/);
    const single = signOrigin(ring, object);
    const [sh, , ss] = single.split('.');
    const payload = Buffer.from(JSON.stringify({ root: originLeaf(object).hash.toString('base64url'), size: 1 })).toString('base64url');
    await expect(verifyOrigin(`${sh}.${payload}.${ss}~${'A'.repeat(22)}~0~`, object, 'node-c', ring.publicKeys())).rejects.toThrow(
      /not a vigil-origin-batch\+jws/,
    );
  });

  it('reveal nothing of the versions a receiver does not get: their leaves are salted, and the salt travels only with its version', async () => {
    const visible = { ...object, id: 'indicator--11111111-1111-4111-8111-111111111111' };
    const withheld = { ...object, id: 'indicator--22222222-2222-4222-8222-222222222222', pattern: "[ipv4-addr:value = '203.0.113.9']" };
    const leaves = [originLeaf(visible), originLeaf(withheld)];
    const [sig] = signOriginBatch(ring, leaves);
    // What the receiver of `visible` holds of `withheld`: one hash in the audit path.
    const sibling = Buffer.from(sig!.split('~')[3]!, 'base64url');
    expect(sibling.equals(leaves[1]!.hash)).toBe(true);
    // A guess at the withheld version, right to the byte, cannot be confirmed without its salt.
    const guess = new TextEncoder().encode(canonicalize(withheld)!);
    expect(sibling.equals(leafHash(guess))).toBe(false);
    expect(sibling.equals(originLeaf(withheld).hash)).toBe(false);
    expect(sig).not.toContain(leaves[1]!.salt.toString('base64url'));
  });

  it(`split leaves into batches of at most ${MAX_BATCH_LEAVES}, each checked once per page however many of its versions the page holds`, async () => {
    const batch = versions(MAX_BATCH_LEAVES + 3);
    const sigs = originSigner(ring).signLeaves(batch.map((o) => originLeaf(o)));
    expect(new Set(sigs.map((s) => s.split('~')[0])).size).toBe(2);
    expect(Math.max(...sigs.map((s) => s.split('~')[3]!.split('.').length))).toBe(10);
    const checks: BatchChecks = new Map();
    await Promise.all(batch.map((o, i) => verifyOrigin(sigs[i]!, o, 'node-c', ring.publicKeys(), checks)));
    expect(checks.size).toBe(2);
  });

  it("agree with jose: the batch's JWS is a compact JWS jose verifies, over {root, size}", async () => {
    const [sig] = signOriginBatch(
      ring,
      versions(3).map((o) => originLeaf(o)),
    );
    const jwk = ring.publicKeys()[0]!;
    const { payload, protectedHeader } = await compactVerify(sig!.split('~')[0]!, await importJWK(jwk, 'EdDSA'));
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', typ: 'vigil-origin-batch+jws', iss: 'node-c', kid: jwk.kid });
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({ root: expect.stringMatching(/^[\w-]{43}$/), size: 3 });
  });
});

describe('the intake claim: versions a node took in from outside the federation', () => {
  const intake = { kind: 'taxii' as const, url: 'https://feed.example.org/api1/collections/c1/', at: '2025-03-01T10:00:00.000Z' };

  it('is signed in the batch payload beside root and size, and verifying a version yields it', async () => {
    const batch = versions(3);
    const sigs = originSigner(ring).signLeaves(
      batch.map((o) => originLeaf(o)),
      { intake },
    );
    const { payload } = await compactVerify(sigs[0]!.split('~')[0]!, await importJWK(ring.publicKeys()[0]!, 'EdDSA'));
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({ root: expect.any(String), size: 3, intake });
    for (const [i, o] of batch.entries()) await expect(verifyOrigin(sigs[i]!, o, 'node-c', ring.publicKeys())).resolves.toEqual(intake);
    expect(readIntake(sigs[1]!)).toEqual(intake);
  });

  it('is absent from what a node originated, and cannot be added or changed by a relay', async () => {
    const batch = versions(2);
    const [plain] = signOriginBatch(
      ring,
      batch.map((o) => originLeaf(o)),
    );
    await expect(verifyOrigin(plain!, batch[0]!, 'node-c', ring.publicKeys())).resolves.toBeUndefined();
    expect(readIntake(plain!)).toBeUndefined();
    expect(readIntake(signOrigin(ring, object))).toBeUndefined();
    // A relay that rewrites the payload (to add a claim, or change its URL) breaks the signature.
    const [h, , sig] = plain!.split('~')[0]!.split('.');
    const rest = plain!.split('~').slice(1).join('~');
    const claims = JSON.parse(Buffer.from(plain!.split('.')[1]!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, intake })).toString('base64url');
    await expect(verifyOrigin(`${h}.${forged}.${sig}~${rest}`, batch[0]!, 'node-c', ring.publicKeys())).rejects.toThrow(/does not match/);
  });

  it('must be well formed', async () => {
    const batch = versions(1);
    const bad = originSigner(ring).signLeaves(
      batch.map((o) => originLeaf(o)),
      { intake: { kind: 'misp', url: 'x' } as never },
    );
    await expect(verifyOrigin(bad[0]!, batch[0]!, 'node-c', ring.publicKeys())).rejects.toThrow(/unreadable intake claim/);
    expect(readIntake(bad[0]!)).toBeUndefined();
  });
});
