import { uuidV5 } from './uuid-v5.ts';
import { isStixTimestamp } from './timestamp.ts';

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

/** What a stored aggregate says, as trends count it (store/sighting-figures.ts). */
export type AggregateFigures = {
  indicatorId: string;
  whereSighted: string | null;
  bucket: Bucket;
  count: number;
  organisations: number | null;
  firstSeen: string | null;
  lastSeen: string | null;
};

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * The figures of an aggregate sighting, made here or by any node (a `sighting` of an indicator
 * with `x_vigil_bucket`), or undefined for any other object: an ordinary sighting is not counted.
 */
export function aggregateFigures(o: Record<string, unknown>): AggregateFigures | undefined {
  const bucket = o.x_vigil_bucket as { size?: unknown; start?: unknown } | undefined;
  const of = o.sighting_of_ref;
  if (o.type !== 'sighting' || typeof bucket !== 'object' || bucket === null) return undefined;
  if (typeof of !== 'string' || !of.startsWith('indicator--')) return undefined;
  if ((bucket.size !== 'hour' && bucket.size !== 'day') || !isStixTimestamp(bucket.start)) return undefined;
  const count = o.count ?? 1;
  if (!isCount(count)) return undefined;
  const where = Array.isArray(o.where_sighted_refs) && typeof o.where_sighted_refs[0] === 'string' ? o.where_sighted_refs[0] : null;
  return {
    indicatorId: of,
    whereSighted: where,
    bucket: { size: bucket.size, start: bucket.start },
    count,
    organisations: isCount(o.x_vigil_organisations) ? o.x_vigil_organisations : null,
    firstSeen: isStixTimestamp(o.first_seen) ? o.first_seen : null,
    lastSeen: isStixTimestamp(o.last_seen) ? o.last_seen : null,
  };
}
