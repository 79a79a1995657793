import { describe, expect, it } from 'vitest';
import { TokenBuckets } from '../../../src/http/token-buckets.ts';

// Times are milliseconds passed in by the test: the buckets read no clock of their own.

describe('token buckets', () => {
  it('gives a burst, then refuses with the seconds until the next token, and refills at the rate', () => {
    const b = new TokenBuckets({ perMinute: 60, burst: 3 });
    expect([b.take('a', 0), b.take('a', 0), b.take('a', 0)]).toEqual([0, 0, 0]);
    expect(b.take('a', 0)).toBeCloseTo(1);
    expect(b.take('a', 400)).toBeCloseTo(0.6);
    expect(b.take('a', 1000)).toBe(0);
    expect(b.take('a', 1000)).toBeCloseTo(1);
    // Idle for a minute: full again, never more than the burst.
    expect([0, 0, 0].map(() => b.take('a', 61_000))).toEqual([0, 0, 0]);
    expect(b.take('a', 61_000)).toBeGreaterThan(0);
  });

  it('takes several tokens at once, all or none, and never more than the burst', () => {
    const b = new TokenBuckets({ perMinute: 60, burst: 5 });
    expect(b.take('a', 0, 3)).toBe(0);
    expect(b.take('a', 0, 3)).toBeCloseTo(1); // 2 left: a second to the third
    expect(b.take('a', 0, 2)).toBe(0); // nothing was taken by the refusal
    expect(b.wait('a', 0)).toBeCloseTo(1);
    expect(() => b.take('a', 0, 6)).toThrow(RangeError);
    expect(() => b.take('a', 0, 0)).toThrow(RangeError);
  });

  it('keeps each key apart', () => {
    const b = new TokenBuckets({ perMinute: 60, burst: 1 });
    expect(b.take('a', 0)).toBe(0);
    expect(b.take('a', 0)).toBeGreaterThan(0);
    expect(b.take('b', 0)).toBe(0);
  });

  it('charges after the fact into debt, down to minus the burst, and refunds', () => {
    const b = new TokenBuckets({ perMinute: 60, burst: 2 });
    for (let i = 0; i < 10; i++) b.charge('a', 0);
    expect(b.wait('a', 0)).toBeCloseTo(3); // from -2 to 1
    b.refund('a', 0);
    expect(b.wait('a', 0)).toBeCloseTo(2);
    expect(b.wait('fresh', 0)).toBe(0);
  });

  it('holds at most its cap of buckets under a flood of distinct keys', () => {
    const b = new TokenBuckets({ perMinute: 60, burst: 5 }, 1000);
    for (let i = 0; i < 100_000; i++) b.take(`k${i}`, 0);
    expect(b.size).toBe(1000);
    // The least recently used went: the newest keys are still counted.
    expect(b.wait('k99999', 0)).toBe(0);
    for (let i = 0; i < 4; i++) b.take('k99999', 0);
    expect(b.take('k99999', 0)).toBeGreaterThan(0);
  });

  it('drops buckets that have filled up again as others are used', () => {
    const b = new TokenBuckets({ perMinute: 60, burst: 2 });
    for (let i = 0; i < 500; i++) b.take(`old${i}`, 0);
    expect(b.size).toBe(500);
    // Two seconds on, every old bucket is full: each use drops up to two of them.
    for (let i = 0; i < 300; i++) b.take(`new${i}`, 2000 + i);
    expect(b.size).toBeLessThanOrEqual(300);
  });
});
