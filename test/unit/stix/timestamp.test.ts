import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareTimestamps, isStixTimestamp, TIMESTAMP_PATTERN } from '../../../src/stix/timestamp.ts';

/** The rule as the JSON Schema states it, with the calendar read through Date.UTC. */
function oracle(value: string): boolean {
  const m = TIMESTAMP_PATTERN.exec(value);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(2000, mo - 1, d));
  date.setUTCFullYear(y);
  const realDay = mo >= 1 && mo <= 12 && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
  return realDay && h <= 23 && mi <= 59 && (s <= 59 || (s === 60 && h === 23 && mi === 59));
}

describe('STIX timestamps (§2): RFC 3339, UTC, Z', () => {
  it.each([
    '2016-01-20T12:31:12Z',
    '2016-01-20T12:31:12.123Z',
    '2016-01-20T12:31:12.1Z',
    '2016-01-20T12:31:12.123456789Z',
    '2016-02-29T00:00:00Z',
    '2000-02-29T23:59:59Z',
    '2016-12-31T23:59:60Z',
  ])('accepts %s', (value) => {
    expect(isStixTimestamp(value)).toBe(true);
  });

  it.each([
    ['a time zone other than Z', '2016-01-20T12:31:12+00:00'],
    ['a lower-case z', '2016-01-20T12:31:12z'],
    ['no time zone', '2016-01-20T12:31:12'],
    ['a space instead of T', '2016-01-20 12:31:12Z'],
    ['a decimal point without digits', '2016-01-20T12:31:12.Z'],
    ['a date only', '2016-01-20'],
    ['month 13', '2016-13-01T00:00:00Z'],
    ['month 0', '2016-00-01T00:00:00Z'],
    ['day 0', '2016-01-00T00:00:00Z'],
    ['30 February', '2016-02-30T00:00:00Z'],
    ['29 February of a common year', '2015-02-29T00:00:00Z'],
    ['29 February 1900', '1900-02-29T00:00:00Z'],
    ['31 April', '2016-04-31T00:00:00Z'],
    ['hour 24', '2016-01-01T24:00:00Z'],
    ['minute 60', '2016-01-01T12:60:00Z'],
    ['a leap second not at the end of a day', '2016-01-01T12:00:60Z'],
    ['a two-digit year', '16-01-01T00:00:00Z'],
    ['a number', 1453293072000],
  ])('rejects %s', (_, value) => {
    expect(isStixTimestamp(value)).toBe(false);
  });

  it('agrees with the pattern and the calendar on near-timestamps of every shape', () => {
    const chars = fc.constantFrom(...'0123456789-:.TZz+ '.split(''));
    // Mostly real calendar values, with the edges just past them.
    const twoDigits = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
    const nearTimestamp = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')),
        twoDigits(13),
        twoDigits(32),
        twoDigits(24),
        twoDigits(60),
        twoDigits(61),
        fc.oneof(
          fc.constant(''),
          fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 12 }).map((f) => `.${f}`),
        ),
      )
      .map(([y, mo, d, h, mi, s, frac]) => `${y}-${mo}-${d}T${h}:${mi}:${s}${frac}Z`);
    // Near-timestamps with one character changed, dropped or added: the separators' places.
    const mutated = fc.tuple(nearTimestamp, fc.nat(30), chars, fc.constantFrom('set', 'drop', 'add')).map(([t, at, c, how]) => {
      const i = at % (t.length + 1);
      if (how === 'drop') return t.slice(0, i) + t.slice(i + 1);
      if (how === 'add') return t.slice(0, i) + c + t.slice(i);
      return t.slice(0, i) + c + t.slice(i + 1);
    });
    fc.assert(
      fc.property(fc.oneof(nearTimestamp, mutated, fc.string({ unit: chars, maxLength: 30 })), (value) => {
        expect(isStixTimestamp(value)).toBe(oracle(value));
      }),
      { numRuns: 5000 },
    );
  });

  it('compares with any fractional precision, beyond what Date keeps', () => {
    expect(compareTimestamps('2016-01-01T00:00:00.0000001Z', '2016-01-01T00:00:00.0000002Z')).toBe(-1);
    expect(compareTimestamps('2016-01-01T00:00:00.1Z', '2016-01-01T00:00:00.100000Z')).toBe(0);
    expect(compareTimestamps('2016-01-01T00:00:00Z', '2016-01-01T00:00:00.000Z')).toBe(0);
    expect(compareTimestamps('2016-01-01T00:00:00.5Z', '2016-01-01T00:00:00.49999999Z')).toBe(1);
    expect(compareTimestamps('2016-01-01T00:00:01Z', '2016-01-01T00:00:00.999999Z')).toBe(1);
    expect(compareTimestamps('2015-12-31T23:59:59.9Z', '2016-01-01T00:00:00Z')).toBe(-1);
  });
});
