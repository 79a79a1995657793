import { z } from 'zod';
import { MAX_VALUE_LENGTH } from '../stix/feed-values.ts';
import { timestampSchema } from '../stix/timestamp.ts';

// POST /sightings and GET /sightings (docs/sightings.md): what a SIEM playbook or webhook sends.

/** The most one report may count: a bound, so a client cannot swamp an aggregate with one request. */
export const MAX_REPORT_COUNT = 1_000_000;

const indicatorId = z
  .string()
  .regex(
    /^indicator--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
    'must be an indicator id (indicator--<uuid>)',
  );

export const reportSightingBody = z
  .strictObject({
    /** An IP address, domain name, URL or SHA-256/MD5 hash, matched to indicators by the values of their patterns. */
    value: z.string().min(1).max(MAX_VALUE_LENGTH).optional(),
    /** Or the indicator itself. */
    indicator: indicatorId.optional(),
    count: z.int().min(1).max(MAX_REPORT_COUNT).default(1),
    first_seen: timestampSchema.optional(),
    last_seen: timestampSchema.optional(),
    /** The reporter lets this report be published even where fewer organisations than the minimum reported. */
    shareable: z.boolean().default(false),
    /** Only indicators of this collection (one the caller may read); by default every collection it may read. */
    collection: z.uuid().optional(),
  })
  .refine((b) => (b.value === undefined) !== (b.indicator === undefined), 'give either value or indicator, not both');

export type ReportSightingBody = z.infer<typeof reportSightingBody>;

/** Reports one POST /sightings may carry as an array: a SIEM playbook's batch, bounded like a TAXII request's sightings. */
export const MAX_BATCH_REPORTS = 1000;

/** A batch: each element is checked on its own, and one that fails fails alone (its index and why). */
export const reportSightingsBatch = z.array(z.unknown()).min(1).max(MAX_BATCH_REPORTS);

/** What POST /sightings takes, as OpenAPI describes it: one report, or an array of them. */
export const reportSightingsDoc = z.union([reportSightingBody, z.array(reportSightingBody).min(1).max(MAX_BATCH_REPORTS)]);

export const listSightingsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** A TLP 2.0 level by name, in any case. */
const tlpName = z.string().regex(/^(clear|green|amber|amber\+strict|red)$/i, 'must be CLEAR, GREEN, AMBER, AMBER+STRICT or RED');

/** GET /trends (docs/sightings.md, "Trends"). */
export const trendsQuery = z.strictObject({
  /** The current window: the UTC hour, day, or seven days (day buckets) now falls in. */
  window: z.enum(['hour', 'day', 'week']).default('day'),
  /** `sightings`: most sighted in the window; `rising`: fastest growing against the previous window. */
  sort: z.enum(['sightings', 'rising']).default('sightings'),
  type: z.enum(['indicator', 'malware', 'attack-pattern']).default('indicator'),
  /** Only objects with this label (in `labels`). */
  label: z.string().min(1).max(200).optional(),
  /** Count only aggregates up to this TLP level (and below the caller's clearance in any case). */
  tlp: tlpName.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export type TrendsQuery = z.infer<typeof trendsQuery>;

/** GET /trends/indicators/{id}: `day`, 24 hour buckets; `week`, 7 day buckets; each ending with the one now falls in. */
export const seriesQuery = z.strictObject({
  window: z.enum(['day', 'week']).default('day'),
  tlp: tlpName.optional(),
});
export type SeriesQuery = z.infer<typeof seriesQuery>;

export const trendIndicatorId = indicatorId;
