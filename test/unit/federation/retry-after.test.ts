import { describe, expect, it } from 'vitest';
import { retryAfterSeconds } from '../../../src/federation/pull.ts';

describe("a peer's Retry-After", () => {
  const now = Date.parse('2026-12-06T12:00:00Z');
  it.each([
    ['120', 120],
    [' 5 ', 5],
    ['0', 0],
    ['Sun, 06 Dec 2026 12:01:30 GMT', 90],
    ['Sun, 06 Dec 2026 11:00:00 GMT', 0],
    ['999999', 3600],
  ])('reads %j as %d seconds (at most an hour)', (value, seconds) => {
    expect(retryAfterSeconds(value, now)).toBe(seconds);
  });

  it.each([[undefined], [''], ['soon'], ['-5'], ['1.5']])('ignores %j', (value) => {
    expect(retryAfterSeconds(value, now)).toBeUndefined();
  });
});
