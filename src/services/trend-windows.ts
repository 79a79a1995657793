import type { BucketSize, TrendWindow } from '../store/trends.ts';

// Windows of trends in buckets of aggregates (docs/sightings.md, "Trends"): UTC hours and days,
// as the aggregates are published. Pure: the clock is an argument.

/** The length of a bucket, in milliseconds. */
export const BUCKET_MS: Record<BucketSize, number> = { hour: 3_600_000, day: 86_400_000 };

export const WINDOWS = ['hour', 'day', 'week'] as const;
export type WindowName = (typeof WINDOWS)[number];

/** A window's buckets: the hour window is one hour bucket, the day window one day bucket, the week seven. */
const WINDOW_BUCKETS: Record<WindowName, { size: BucketSize; n: number }> = {
  hour: { size: 'hour', n: 1 },
  day: { size: 'day', n: 1 },
  week: { size: 'day', n: 7 },
};

export const SERIES = ['day', 'week'] as const;
export type SeriesName = (typeof SERIES)[number];

/** A series' points: a day is 24 hour buckets, a week 7 day buckets. */
const SERIES_BUCKETS: Record<SeriesName, { size: BucketSize; n: number }> = {
  day: { size: 'hour', n: 24 },
  week: { size: 'day', n: 7 },
};

/** A time as the store renders bucket starts (six fractional digits). */
export const bucketTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

const floorTo = (size: BucketSize, ms: number) => Math.floor(ms / BUCKET_MS[size]) * BUCKET_MS[size];

/**
 * The current window ends with the bucket `now` falls in (in progress: what is published of it so
 * far counts); the previous window is as many whole buckets just before it.
 */
export function trendWindow(name: WindowName, now: number): TrendWindow {
  const { size, n } = WINDOW_BUCKETS[name];
  const end = floorTo(size, now) + BUCKET_MS[size];
  const current = end - n * BUCKET_MS[size];
  return { size, previous: bucketTime(current - n * BUCKET_MS[size]), current: bucketTime(current), end: bucketTime(end) };
}

/** The buckets of a series, oldest first, the last being the one `now` falls in. */
export function seriesBuckets(name: SeriesName, now: number): { size: BucketSize; starts: string[]; from: string; to: string } {
  const { size, n } = SERIES_BUCKETS[name];
  const last = floorTo(size, now);
  const starts = Array.from({ length: n }, (_, i) => bucketTime(last - (n - 1 - i) * BUCKET_MS[size]));
  return { size, starts, from: starts[0]!, to: bucketTime(last + BUCKET_MS[size]) };
}
