import { uuidV5 } from './uuid-v5.ts';

// The STIX objects a node publishes of its sighting reports (docs/sightings.md): an aggregate per
// indicator and hour or day, sighted where a sector-and-country identity says, never a hospital.

/** The namespace of every name-based id below: fixed, so every node derives the same ids from the same names. */
export const AGGREGATE_NAMESPACE = '3f1c8f2e-5b7a-4c1d-9e6f-2a4b8c0d7e91';

/** The identity's dates: fixed, so the identity is one object, byte for byte, on every node that makes it. */
const IDENTITY_DATE = '2025-01-01T00:00:00.000Z';

export type Where = { sector: string; country: string };
export type Bucket = { size: 'hour' | 'day'; start: string };

/** "Health sector, FR": a class of organisations of a member state. */
export function sectorIdentity(where: Where, marking: string): Record<string, unknown> {
  const label = where.sector === 'health-care' ? 'Health' : where.sector[0]!.toUpperCase() + where.sector.slice(1).replace(/-/g, ' ');
  return {
    type: 'identity',
    spec_version: '2.1',
    id: `identity--${uuidV5(AGGREGATE_NAMESPACE, `sector-country|${where.sector}|${where.country}`)}`,
    created: IDENTITY_DATE,
    modified: IDENTITY_DATE,
    name: `${label} sector, ${where.country}`,
    identity_class: 'class',
    sectors: [where.sector],
    object_marking_refs: [marking],
    x_vigil_country: where.country,
  };
}

/** An aggregate's id, from where it is made and what it counts: the same aggregate reaching a node by two paths is one object. */
export function aggregateId(nodeId: string, indicatorId: string, bucket: Bucket): string {
  return `sighting--${uuidV5(AGGREGATE_NAMESPACE, `aggregate|${nodeId}|${indicatorId}|${bucket.size}|${bucket.start}`)}`;
}

export type AggregateVersion = {
  id: string;
  indicatorId: string;
  identityId: string;
  bucket: Bucket;
  created: string;
  modified: string;
  count: number;
  organisations: number;
  firstSeen: string;
  lastSeen: string;
  marking: string;
};

/** STIX 2.1 §5.2 caps `count` at 999,999,999. */
const MAX_COUNT = 999_999_999;

/** One version of an aggregate as a STIX 2.1 sighting. */
export function aggregateSighting(v: AggregateVersion): Record<string, unknown> {
  return {
    type: 'sighting',
    spec_version: '2.1',
    id: v.id,
    created: v.created,
    modified: v.modified,
    sighting_of_ref: v.indicatorId,
    where_sighted_refs: [v.identityId],
    count: Math.min(v.count, MAX_COUNT),
    first_seen: v.firstSeen,
    last_seen: v.lastSeen,
    summary: true,
    object_marking_refs: [v.marking],
    x_vigil_organisations: v.organisations,
    x_vigil_bucket: { size: v.bucket.size, start: v.bucket.start },
  };
}
