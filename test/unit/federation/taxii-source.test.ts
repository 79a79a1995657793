import { describe, expect, it } from 'vitest';
import { justBefore, taxiiObjectsUrl, timestampNs } from '../../../src/federation/taxii-source.ts';

describe('the cursor of a TAXII source', () => {
  it.each([
    ['2025-03-01T10:00:00.003Z', '2025-03-01T10:00:00.002Z'],
    ['2025-03-01T10:00:00Z', '2025-03-01T09:59:59.999Z'],
    ['2025-01-01T00:00:00.000Z', '2024-12-31T23:59:59.999Z'],
    ['2025-03-01T10:00:00.123456Z', '2025-03-01T10:00:00.122456Z'],
    ['2025-03-01T10:00:00.1Z', '2025-03-01T10:00:00.099Z'],
  ])('resumes one millisecond before the last date_added of a page with more after it: %s → %s', (last, cursor) => {
    expect(justBefore(last)).toBe(cursor);
    expect(timestampNs(last)! - timestampNs(cursor)!).toBe(1_000_000n);
  });

  it('reads timestamps to the nanosecond, and nothing that is not one', () => {
    expect(timestampNs('2025-03-01T10:00:00.123456789Z')! - timestampNs('2025-03-01T10:00:00.123456788Z')!).toBe(1n);
    for (const bad of ['2025-03-01', '2025-03-01T10:00:00+01:00', 'soon']) expect(timestampNs(bad)).toBeUndefined();
  });

  it('asks the objects endpoint under the API root, with added_after, limit and next', () => {
    const target = { apiRoot: 'https://feed.example.org/taxii2/api1/', collectionId: 'c 1', auth: { kind: 'none' as const } };
    expect(taxiiObjectsUrl(target, { addedAfter: '2025-03-01T10:00:00.002Z', next: 'abc', limit: 1000 })).toBe(
      'https://feed.example.org/taxii2/api1/collections/c%201/objects/?added_after=2025-03-01T10%3A00%3A00.002Z&limit=1000&next=abc',
    );
    expect(taxiiObjectsUrl(target, { addedAfter: null, limit: 10 })).toBe(
      'https://feed.example.org/taxii2/api1/collections/c%201/objects/?limit=10',
    );
  });
});
