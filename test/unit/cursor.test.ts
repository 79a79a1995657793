import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, filterHash } from '../../src/services/cursor.ts';
import { VigilError } from '../../src/errors.ts';

const key = randomBytes(32);
const filters = filterHash(['objects', 'c1', null, { types: ['indicator'] }]);
const alice = { filters, recipient: 'client:6f1c2a0e-0000-4000-8000-00000000000a' };
const position = '2024-01-01T00:00:00.123456Z';

function refusal(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof VigilError ? `${err.code}: ${err.message}` : 'other';
  }
  return undefined;
}

const NOT_ISSUED = 'invalid-cursor: next: the token was not issued by this node to this caller';

describe('next tokens', () => {
  it('carry their position to any holder of the key, for the caller they were issued to', () => {
    const token = encodeCursor(key, position, alice);
    expect(decodeCursor(Buffer.from(key), token, { ...alice })).toBe(position);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(token.length).toBeLessThanOrEqual(110);
  });

  it('are opaque: neither the position nor the filters can be read, and no two are alike', () => {
    const token = encodeCursor(key, position, alice);
    const bytes = Buffer.from(token, 'base64url');
    for (const text of [bytes.toString('utf8'), bytes.toString('latin1')]) {
      expect(() => JSON.parse(text)).toThrow();
      expect(text).not.toContain('2024-01-01');
      expect(text).not.toContain(filters);
    }
    expect(encodeCursor(key, position, alice)).not.toBe(token);
  });

  it("are another caller's forgery, whoever that caller is", () => {
    const token = encodeCursor(key, position, alice);
    for (const recipient of [
      'client:6f1c2a0e-0000-4000-8000-00000000000b',
      'peer:6f1c2a0e-0000-4000-8000-00000000000a',
      'admin',
      'anonymous',
    ]) {
      expect(
        refusal(() => decodeCursor(key, token, { filters, recipient })),
        recipient,
      ).toBe(NOT_ISSUED);
    }
    const admins = encodeCursor(key, position, { filters, recipient: 'admin' });
    expect(refusal(() => decodeCursor(key, admins, alice))).toBe(NOT_ISSUED);
  });

  it('are refused with other filters, another key, any byte changed, or garbage', () => {
    const token = encodeCursor(key, position, alice);
    expect(refusal(() => decodeCursor(key, token, { ...alice, filters: filterHash(['objects', 'c1', null, {}]) }))).toBe(
      'invalid-cursor: next: the token was issued for other filters',
    );
    expect(refusal(() => decodeCursor(randomBytes(32), token, alice))).toBe(NOT_ISSUED);
    const bytes = Buffer.from(token, 'base64url');
    for (let i = 1; i < bytes.length; i++) {
      const changed = Buffer.from(bytes);
      changed[i]! ^= 0x01;
      expect(
        refusal(() => decodeCursor(key, changed.toString('base64url'), alice)),
        `byte ${i}`,
      ).toBe(NOT_ISSUED);
    }
    const truncated = bytes.subarray(0, bytes.length - 1).toString('base64url');
    expect(refusal(() => decodeCursor(key, truncated, alice))).toMatch(/^invalid-cursor: /);
    const version = Buffer.from(bytes);
    version[0] = 2;
    const legacy = `${Buffer.from(JSON.stringify({ p: position, f: filters })).toString('base64url')}.${'A'.repeat(43)}`;
    for (const junk of ['', '.', 'abc', '%%%.***', `${token}.x`, version.toString('base64url'), legacy, 'A'.repeat(600)]) {
      expect(
        refusal(() => decodeCursor(key, junk, alice)),
        junk,
      ).toMatch(/^invalid-cursor: /);
    }
  });
});
