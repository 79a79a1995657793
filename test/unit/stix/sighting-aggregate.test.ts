import { describe, expect, it } from 'vitest';
import { aggregateFigures, aggregateId, aggregateSighting, sectorIdentity } from '../../../src/stix/sighting-aggregate.ts';
import { uuidV5 } from '../../../src/stix/uuid-v5.ts';
import { validateStixObject } from '../../../src/stix/validate.ts';

const GREEN = 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb';

describe('uuidV5', () => {
  it('gives the test vector of RFC 9562 (appendix A.4)', () => {
    // The DNS namespace and www.example.com.
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });
});

describe('sighting aggregates', () => {
  const bucket = { size: 'hour' as const, start: '2025-03-01T10:00:00.000000Z' };
  const indicator = 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f';

  it('have an id that depends on the node, the indicator and the bucket, and on nothing else', () => {
    const id = aggregateId('node-fr', indicator, bucket);
    expect(aggregateId('node-fr', indicator, bucket)).toBe(id);
    expect(aggregateId('node-de', indicator, bucket)).not.toBe(id);
    expect(aggregateId('node-fr', indicator, { ...bucket, size: 'day' })).not.toBe(id);
    expect(aggregateId('node-fr', indicator, { ...bucket, start: '2025-03-01T11:00:00.000000Z' })).not.toBe(id);
    expect(id).toMatch(/^sighting--[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('are valid STIX 2.1, sighted by a sector-and-country identity that every node makes alike', () => {
    const identity = sectorIdentity({ sector: 'health-care', country: 'FR' }, GREEN);
    expect(identity).toEqual(sectorIdentity({ sector: 'health-care', country: 'FR' }, GREEN));
    expect(identity).toMatchObject({ name: 'Health sector, FR', identity_class: 'class', sectors: ['health-care'] });
    expect(sectorIdentity({ sector: 'energy', country: 'DE' }, GREEN).name).toBe('Energy sector, DE');
    const sighting = aggregateSighting({
      id: aggregateId('node-fr', indicator, bucket),
      indicatorId: indicator,
      identityId: identity.id as string,
      bucket,
      created: '2025-03-01T10:05:00.000Z',
      modified: '2025-03-01T10:06:00.000Z',
      count: 2_000_000_000,
      organisations: 3,
      firstSeen: '2025-03-01T10:01:00.000000Z',
      lastSeen: '2025-03-01T10:02:00.000000Z',
      marking: GREEN,
    });
    expect(validateStixObject(identity)).toMatchObject({ ok: true });
    expect(validateStixObject(sighting)).toMatchObject({ ok: true });
    // STIX caps count.
    expect(sighting.count).toBe(999_999_999);
  });
});

describe('aggregateFigures', () => {
  const indicator = 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f';
  const bucket = { size: 'day' as const, start: '2025-03-01T00:00:00.000000Z' };
  const sighting = aggregateSighting({
    id: aggregateId('node-de', indicator, bucket),
    indicatorId: indicator,
    identityId: 'identity--0b6c5c1e-3e41-5b2c-9a55-6f1cf1bc7a3a',
    bucket,
    created: '2025-03-01T10:05:00.000Z',
    modified: '2025-03-01T10:06:00.000Z',
    count: 12,
    organisations: 4,
    firstSeen: '2025-03-01T09:00:00.000000Z',
    lastSeen: '2025-03-01T10:00:00.000000Z',
    marking: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  });

  it('reads back what an aggregate of any node says', () => {
    expect(aggregateFigures(sighting)).toEqual({
      indicatorId: indicator,
      whereSighted: 'identity--0b6c5c1e-3e41-5b2c-9a55-6f1cf1bc7a3a',
      bucket,
      count: 12,
      organisations: 4,
      firstSeen: '2025-03-01T09:00:00.000000Z',
      lastSeen: '2025-03-01T10:00:00.000000Z',
    });
  });

  it('counts no other sighting, nor an aggregate it cannot read', () => {
    const { x_vigil_bucket: _, ...plain } = sighting;
    expect(aggregateFigures(plain)).toBeUndefined();
    expect(aggregateFigures({ ...sighting, type: 'indicator' })).toBeUndefined();
    expect(aggregateFigures({ ...sighting, sighting_of_ref: 'malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f' })).toBeUndefined();
    expect(aggregateFigures({ ...sighting, x_vigil_bucket: { size: 'week', start: bucket.start } })).toBeUndefined();
    expect(aggregateFigures({ ...sighting, x_vigil_bucket: { size: 'day', start: 'yesterday' } })).toBeUndefined();
    expect(aggregateFigures({ ...sighting, count: -1 })).toBeUndefined();
    expect(aggregateFigures({ ...sighting, count: 1.5 })).toBeUndefined();
  });
});
