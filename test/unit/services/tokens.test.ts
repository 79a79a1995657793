import { describe, expect, it } from 'vitest';
import { generateToken, hashToken, sameHash } from '../../../src/services/tokens.ts';

describe('tokens', () => {
  it('hashes a token with SHA-256 of its UTF-8 bytes: the hashes stored for every client stay valid', () => {
    // FIPS 180-2 test vector, and a non-ASCII token.
    expect(hashToken('abc').toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashToken('é').toString('hex')).toBe('4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c');
  });

  it('tells equal hashes from different ones', () => {
    const token = generateToken();
    expect(sameHash(hashToken(token), hashToken(token))).toBe(true);
    expect(sameHash(hashToken(token), hashToken(`${token}x`))).toBe(false);
  });
});
