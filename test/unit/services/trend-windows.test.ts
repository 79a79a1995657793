import { describe, expect, it } from 'vitest';
import { seriesBuckets, trendWindow } from '../../../src/services/trend-windows.ts';

// docs/sightings.md, "Trends": windows end with the UTC bucket now falls in.
const now = Date.parse('2025-03-05T10:20:00Z');

describe('trend windows', () => {
  it('are the hour now falls in, against the hour before', () => {
    expect(trendWindow('hour', now)).toEqual({
      size: 'hour',
      previous: '2025-03-05T09:00:00.000000Z',
      current: '2025-03-05T10:00:00.000000Z',
      end: '2025-03-05T11:00:00.000000Z',
    });
  });

  it('are the day now falls in, against the day before, in day buckets', () => {
    expect(trendWindow('day', now)).toEqual({
      size: 'day',
      previous: '2025-03-04T00:00:00.000000Z',
      current: '2025-03-05T00:00:00.000000Z',
      end: '2025-03-06T00:00:00.000000Z',
    });
  });

  it('are seven days ending with today, against the seven before', () => {
    expect(trendWindow('week', now)).toEqual({
      size: 'day',
      previous: '2025-02-20T00:00:00.000000Z',
      current: '2025-02-27T00:00:00.000000Z',
      end: '2025-03-06T00:00:00.000000Z',
    });
  });

  it('start a bucket exactly on its boundary', () => {
    expect(trendWindow('hour', Date.parse('2025-03-05T10:00:00Z')).current).toBe('2025-03-05T10:00:00.000000Z');
  });
});

describe('series', () => {
  it('are 24 hour buckets for a day and 7 day buckets for a week, the last one now falls in', () => {
    const day = seriesBuckets('day', now);
    expect(day.starts).toHaveLength(24);
    expect(day).toMatchObject({ size: 'hour', from: '2025-03-04T11:00:00.000000Z', to: '2025-03-05T11:00:00.000000Z' });
    expect(day.starts.at(-1)).toBe('2025-03-05T10:00:00.000000Z');
    const week = seriesBuckets('week', now);
    expect(week.starts).toEqual([
      '2025-02-27T00:00:00.000000Z',
      '2025-02-28T00:00:00.000000Z',
      '2025-03-01T00:00:00.000000Z',
      '2025-03-02T00:00:00.000000Z',
      '2025-03-03T00:00:00.000000Z',
      '2025-03-04T00:00:00.000000Z',
      '2025-03-05T00:00:00.000000Z',
    ]);
    expect(week.to).toBe('2025-03-06T00:00:00.000000Z');
  });
});
