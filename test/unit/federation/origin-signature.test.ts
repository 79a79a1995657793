import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureKeyring, loadKeyring } from '../../../src/federation/keyring.ts';
import type { Keyring } from '../../../src/federation/keyring.ts';
import { OriginSignatureError, originSigner, signOrigin, verifyOrigin } from '../../../src/federation/origin-signature.ts';
import canonicalize from 'canonicalize';
import { FlattenedSign } from 'jose';

let ring: Keyring;
let other: Keyring;
beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-origin-'));
  await ensureKeyring(dir, 'node-c');
  ring = loadKeyring(dir);
  const dir2 = mkdtempSync(path.join(tmpdir(), 'vigil-origin-'));
  await ensureKeyring(dir2, 'node-b');
  other = loadKeyring(dir2);
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
