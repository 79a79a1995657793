// Token buckets by key, in this process's memory: a bucket holds up to `burst` tokens and gains
// `perMinute` a minute; a request takes one. Times are milliseconds on a monotonic clock.

export type BucketRule = Readonly<{ perMinute: number; burst: number }>;

type Bucket = { tokens: number; at: number };

/** Most buckets kept: past it the least recently used goes, so a flood of distinct keys costs bounded memory. */
export const MAX_BUCKETS = 50_000;

export class TokenBuckets {
  readonly #burst: number;
  readonly #perMs: number;
  readonly #max: number;
  /** In order of last use, oldest first (a Map keeps insertion order; a used bucket is re-inserted). */
  readonly #buckets = new Map<string, Bucket>();

  constructor(rule: BucketRule, max = MAX_BUCKETS) {
    if (!(rule.perMinute > 0 && rule.burst >= 1)) throw new RangeError('a bucket needs perMinute > 0 and burst >= 1');
    this.#burst = rule.burst;
    this.#perMs = rule.perMinute / 60_000;
    this.#max = max;
  }

  /** The most tokens a bucket holds, so the most one take may ask for. */
  get burst(): number {
    return this.#burst;
  }

  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes `n` tokens (one unless given, at most `burst`): 0 when taken, else the seconds until
   * there are that many (and nothing is taken).
   */
  take(key: string, now: number, n = 1): number {
    if (!(n >= 1 && n <= this.#burst)) throw new RangeError(`take 1 to ${this.#burst} tokens at once, not ${n}`);
    const level = this.#level(key, now);
    if (level < n) return this.#secondsTo(n, level);
    this.#store(key, level - n, now);
    return 0;
  }

  /**
   * Takes a token even when none is left, for what is charged after the fact: the bucket goes
   * into debt (down to -burst), so requests sent at once buy a burst but not a higher rate.
   */
  charge(key: string, now: number): void {
    this.#store(key, Math.max(this.#level(key, now) - 1, -this.#burst), now);
  }

  /** Gives back a token taken for a request that turned out to be someone else's to pay. */
  refund(key: string, now: number): void {
    if (this.#buckets.has(key)) this.#store(key, Math.min(this.#level(key, now) + 1, this.#burst), now);
  }

  /** Seconds until the bucket holds a token: 0 when it holds one now. */
  wait(key: string, now: number): number {
    const level = this.#level(key, now);
    return level < 1 ? this.#secondsTo(1, level) : 0;
  }

  #level(key: string, now: number): number {
    const b = this.#buckets.get(key);
    return b ? Math.min(this.#burst, b.tokens + Math.max(0, now - b.at) * this.#perMs) : this.#burst;
  }

  #secondsTo(n: number, level: number): number {
    return (n - level) / this.#perMs / 1000;
  }

  #store(key: string, tokens: number, now: number): void {
    this.#buckets.delete(key);
    this.#buckets.set(key, { tokens, at: now });
    // A bucket that has filled up again holds nothing worth keeping: the oldest two are looked at
    // on every use, so idle ones go without a timer; the cap bounds the rest.
    for (let i = 0; i < 2; i++) {
      const [oldKey, oldest] = this.#buckets.entries().next().value ?? [];
      if (oldKey === undefined || oldKey === key || oldest!.tokens + (now - oldest!.at) * this.#perMs < this.#burst) break;
      this.#buckets.delete(oldKey);
    }
    while (this.#buckets.size > this.#max) this.#buckets.delete(this.#buckets.keys().next().value!);
  }
}
