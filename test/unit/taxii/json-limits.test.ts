import { describe, expect, it } from 'vitest';
import { JsonLimitScanner } from '../../../src/taxii/json-limits.ts';

const limits = { maxDepth: 4, maxMembers: 10, maxStringBytes: 8, maxObjects: 3 };

/** Scans `text` cut into chunks at `cuts`; answers the largest top-level array, or the error's message. */
function scan(text: string, cuts: number[] = []): number | string {
  const bytes = new TextEncoder().encode(text);
  const scanner = new JsonLimitScanner(limits);
  let at = 0;
  try {
    for (const cut of [...cuts, bytes.length]) {
      scanner.push(bytes.subarray(at, cut));
      at = cut;
    }
    return scanner.arrayElementsAtMost;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('the JSON limits scanner', () => {
  it('counts a string’s bytes, escapes as written, wherever the chunks are cut', () => {
    const eight = '{"objects":["abcdefgh","a\\"\\\\bcd"]}';
    for (const cut of [0, 3, 13, 14, 17, 20, 22, 25, 30]) expect(scan(eight, [cut])).toBe(2);
    const nine = '{"objects":["abcdefghi"]}';
    for (const cut of [0, 13, 18, 21]) expect(scan(nine, [cut])).toMatch(/JSON_MAX_STRING_BYTES/);
    expect(scan('{"objects":["abc\\"defgh"]}')).toMatch(/JSON_MAX_STRING_BYTES/);
  });

  it('sees no structure inside strings, escaped quotes included', () => {
    expect(scan('{"objects":["[{,,,}]","\\"],[,"]}', [14, 24])).toBe(2);
    expect(scan('{"objects":[1,2,3,4]}')).toMatch(/REQUEST_MAX_OBJECTS/);
  });
});
