import { z } from 'zod';

// The TAXII 2.1 resources (§3.6, §4, §5) as zod schemas: the JSON Schemas in schemas/ are
// generated from these, and the tests check the node's answers against them.

const timestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/)
  .describe('TAXII timestamp, microseconds, UTC');
const identifier = z.uuid().describe('RFC 4122 UUID');
const url = z
  .string()
  .regex(/^(https?:\/\/[^/]+)?\/.*$/)
  .describe('an absolute URL or a path starting with one /');

export const errorResource = z.looseObject({
  title: z.string(),
  description: z.string().optional(),
  error_id: z.string().optional(),
  error_code: z.string().optional(),
  http_status: z
    .string()
    .regex(/^\d{3}$/)
    .optional(),
  external_details: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const discoveryResource = z.strictObject({
  title: z.string(),
  description: z.string().optional(),
  contact: z.string().optional(),
  default: url.optional(),
  api_roots: z.array(url).min(1).optional(),
});

export const apiRootResource = z.strictObject({
  title: z.string(),
  description: z.string().optional(),
  versions: z.array(z.literal('application/taxii+json;version=2.1')).min(1),
  max_content_length: z.number().int().positive(),
});

export const collectionResource = z.strictObject({
  id: identifier,
  title: z.string(),
  description: z.string().optional(),
  alias: z.string().optional(),
  can_read: z.boolean(),
  can_write: z.boolean(),
  media_types: z.array(z.string()).min(1).optional(),
});

export const collectionsResource = z.strictObject({ collections: z.array(collectionResource).min(1).optional() });

export const manifestRecord = z.strictObject({
  id: z.string(),
  date_added: timestamp,
  version: z.string(),
  media_type: z.string().optional(),
});

const paging = { more: z.boolean().optional(), next: z.string().optional() };

export const manifestResource = z.strictObject({ ...paging, objects: z.array(manifestRecord).min(1).optional() });

export const envelopeResource = z.strictObject({
  ...paging,
  objects: z
    .array(z.looseObject({ id: z.string(), type: z.string() }))
    .min(1)
    .optional(),
  /** Vigil's addition, for peer nodes only: each version's origin node and its signature. */
  x_vigil_origins: z.array(z.strictObject({ id: z.string(), version: z.string(), node: z.string(), signature: z.string() })).optional(),
});

export const versionsResource = z.strictObject({ ...paging, versions: z.array(z.string()).min(1).optional() });

const statusDetail = z.strictObject({ id: z.string(), version: z.string(), message: z.string().optional() });

export const statusResource = z.strictObject({
  id: identifier,
  status: z.enum(['pending', 'complete']),
  request_timestamp: timestamp.optional(),
  total_count: z.number().int().nonnegative(),
  success_count: z.number().int().nonnegative(),
  failure_count: z.number().int().nonnegative(),
  pending_count: z.number().int().nonnegative(),
  successes: z.array(statusDetail).min(1).optional(),
  failures: z.array(statusDetail).min(1).optional(),
  pendings: z.array(statusDetail).min(1).optional(),
});

export const taxiiResources = {
  error: errorResource,
  discovery: discoveryResource,
  'api-root': apiRootResource,
  collections: collectionsResource,
  collection: collectionResource,
  manifest: manifestResource,
  envelope: envelopeResource,
  versions: versionsResource,
  status: statusResource,
} as const;
