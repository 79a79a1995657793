import { describe, expect, it } from 'vitest';
import { backoffSeconds } from '../../../src/services/backoff.ts';

describe("the puller's backoff", () => {
  it('backs off exponentially with jitter, up to a maximum', () => {
    expect(backoffSeconds(0, 5, 900, () => 0)).toBe(2.5);
    expect(backoffSeconds(0, 5, 900, () => 1)).toBe(5);
    expect(backoffSeconds(3, 5, 900, () => 1)).toBe(40);
    expect(backoffSeconds(20, 5, 900, () => 1)).toBe(900);
    expect(backoffSeconds(20, 5, 900, () => 0)).toBe(450);
  });
});
