import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/federation/canonical-json.ts';

/** The library's answer, or its error's message. */
function library(value: unknown): string | undefined {
  try {
    return canonicalize(value);
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

function ours(value: unknown): string | undefined {
  try {
    return canonicalJson(value);
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = { back: cyclic };

describe('canonicalJson (RFC 8785)', () => {
  it('matches the canonicalize library, including what it refuses or serializes its own way', () => {
    const cases: unknown[] = [
      { b: 1, a: [true, null, 'x'], c: { z: -0, y: 1.5e21, x: 1e-7, w: 0.1 } },
      { '\u20ac': 1, '\r': 2, '1': 3, '10': 4, '\ud83d\ude00': 5, '\ufb33': 6, A: 7, a: 8 },
      { text: 'é € \ud83d\ude00 "\\\n\t\u0001\u2028 </script>' },
      { lone: '\ud800' },
      { ['\udc00']: 'key with a lone surrogate' },
      { n: Number.NaN },
      { n: Number.POSITIVE_INFINITY },
      { skipped: undefined, f: () => 1, kept: 1 },
      [undefined, () => 1, 2],
      { when: new Date(0), wrapped: { toJSON: () => ({ b: 2, a: 1 }) } },
      { toJSON: 'a string, not a method' },
      { boxed: [new Number(1), new String('s'), new Boolean(false)] },
      Object.assign(Object.create(null), { b: 2, a: 1 }),
      cyclic,
      { big: 10n },
      'top-level string',
      42,
      null,
      [],
      {},
    ];
    for (const value of cases) expect(ours(value), JSON.stringify(library(value))).toBe(library(value));
  });

  it('sorts keys by UTF-16 code units at every depth', () => {
    expect(canonicalJson({ b: [{ d: 1, c: 2 }], a: { '\ud83d\ude00': 1, '\ufb33': 2 } })).toBe(
      '{"a":{"\ud83d\ude00":1,"\ufb33":2},"b":[{"c":2,"d":1}]}',
    );
  });
});
