import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, filterHash } from '../../src/services/cursor.ts';
import { VigilError } from '../../src/errors.ts';

const key = randomBytes(32);
const filters = filterHash(['objects', 'c1', null, { types: ['indicator'] }]);

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof VigilError ? err.code : 'other';
  }
  return undefined;
}

describe('next tokens', () => {
  it('carry their position to any holder of the key', () => {
    const token = encodeCursor(key, '2024-01-01T00:00:00.123456Z', filters);
    expect(decodeCursor(Buffer.from(key), token, filters)).toBe('2024-01-01T00:00:00.123456Z');
  });

  it('are refused with other filters, another key, a changed payload or garbage', () => {
    const token = encodeCursor(key, '2024-01-01T00:00:00.123456Z', filters);
    const [payload, mac] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ p: '1970-01-01T00:00:00.000000Z', f: filters })).toString('base64url');
    expect(code(() => decodeCursor(key, token, filterHash(['objects', 'c1', null, {}])))).toBe('invalid-cursor');
    expect(code(() => decodeCursor(randomBytes(32), token, filters))).toBe('invalid-cursor');
    expect(code(() => decodeCursor(key, `${forged}.${mac}`, filters))).toBe('invalid-cursor');
    for (const junk of ['', '.', 'abc', `${payload}`, `${payload}.${mac}.x`, '%%%.***', `${payload}.AAAA`]) {
      expect(code(() => decodeCursor(key, junk, filters)), junk).toBe('invalid-cursor');
    }
  });
});
