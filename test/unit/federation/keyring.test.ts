import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { calculateJwkThumbprint, CompactSign, compactVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { ensureKeyring, KeyringError, loadKeyring, rotateKeys } from '../../../src/federation/keyring.ts';

const fresh = () => mkdtempSync(path.join(tmpdir(), 'vigil-keys-'));
const HOUR = 3_600_000;
const timing = { activationDelayMs: HOUR, retentionMs: 24 * HOUR };

describe("the node's signing keys", () => {
  it('are made on first start: one Ed25519 key, files readable by the owner only, kid = RFC 7638 thumbprint', async () => {
    const dir = fresh();
    const state = await ensureKeyring(dir, 'node-a');
    expect(state.node_id).toBe('node-a');
    expect(state.keys).toHaveLength(1);
    for (const f of readdirSync(dir)) expect(statSync(path.join(dir, f)).mode & 0o777, f).toBe(0o600);
    const [jwk] = loadKeyring(dir).publicKeys();
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(jwk).not.toHaveProperty('d');
    expect(jwk!.kid).toBe(await calculateJwkThumbprint(jwk!, 'sha256'));
  });

  it('keep the node id with the keys, and refuse a NODE_ID that does not match them', async () => {
    const dir = fresh();
    const first = await ensureKeyring(dir, undefined);
    expect(first.node_id).toMatch(/^vigil-/);
    expect((await ensureKeyring(dir, undefined)).node_id).toBe(first.node_id);
    await expect(ensureKeyring(dir, 'someone-else')).rejects.toThrow(KeyringError);
  });

  it('sign with a key that verifies against the published JWKS', async () => {
    const dir = fresh();
    await ensureKeyring(dir, 'node-a');
    const ring = loadKeyring(dir);
    const { kid, key } = await ring.signingKey();
    const jws = await new CompactSign(new TextEncoder().encode('payload')).setProtectedHeader({ alg: 'EdDSA', kid }).sign(key);
    const published = ring.publicKeys().find((k) => k.kid === kid)!;
    const { payload } = await compactVerify(jws, await importJWK(published, 'EdDSA'));
    expect(new TextDecoder().decode(payload)).toBe('payload');
  });

  it('rotate: the new key is published at once but signs only after the delay; the old one retires later', async () => {
    const dir = fresh();
    const t0 = new Date('2026-01-01T00:00:00Z');
    await ensureKeyring(dir, 'node-a', t0);
    const ring = loadKeyring(dir);
    const oldKid = (await ring.signingKey(t0)).kid;
    const state = await rotateKeys(dir, timing, t0);
    const newKid = state.keys.at(-1)!.kid;
    expect(newKid).not.toBe(oldKid);
    // published before it is used
    expect(
      ring
        .publicKeys(t0)
        .map((k) => k.kid)
        .sort(),
    ).toEqual([oldKid, newKid].sort());
    expect((await ring.signingKey(new Date(t0.getTime() + HOUR - 1))).kid).toBe(oldKid);
    expect((await ring.signingKey(new Date(t0.getTime() + HOUR))).kid).toBe(newKid);
    // the old key keeps verifying for the retention time, then leaves the JWKS
    expect(ring.publicKeys(new Date(t0.getTime() + 25 * HOUR - 1)).map((k) => k.kid)).toContain(oldKid);
    expect(ring.publicKeys(new Date(t0.getTime() + 25 * HOUR)).map((k) => k.kid)).toEqual([newKid]);
  });

  it('refuse to rotate where there is no keyring', async () => {
    await expect(rotateKeys(fresh(), timing)).rejects.toThrow(/no keyring/);
  });
});
