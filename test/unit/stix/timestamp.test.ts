import { describe, expect, it } from 'vitest';
import { compareTimestamps, isStixTimestamp } from '../../../src/stix/timestamp.ts';

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

  it('compares with any fractional precision, beyond what Date keeps', () => {
    expect(compareTimestamps('2016-01-01T00:00:00.0000001Z', '2016-01-01T00:00:00.0000002Z')).toBe(-1);
    expect(compareTimestamps('2016-01-01T00:00:00.1Z', '2016-01-01T00:00:00.100000Z')).toBe(0);
    expect(compareTimestamps('2016-01-01T00:00:00Z', '2016-01-01T00:00:00.000Z')).toBe(0);
    expect(compareTimestamps('2016-01-01T00:00:00.5Z', '2016-01-01T00:00:00.49999999Z')).toBe(1);
    expect(compareTimestamps('2016-01-01T00:00:01Z', '2016-01-01T00:00:00.999999Z')).toBe(1);
    expect(compareTimestamps('2015-12-31T23:59:59.9Z', '2016-01-01T00:00:00Z')).toBe(-1);
  });
});
