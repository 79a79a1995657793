/** mulberry32: a small seeded PRNG, so every run generates the same objects. */
export type Rng = { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T; hex(n: number): string; uuid(): string };

export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const hex = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[int(16)];
    return s;
  };
  return {
    next,
    int,
    pick: (xs) => xs[int(xs.length)]!,
    hex,
    // A version-4 UUID (RFC 4122 variant), as STIX identifiers should be.
    uuid: () => `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[int(4)]}${hex(3)}-${hex(12)}`,
  };
}
