import { z } from 'zod';

// The source resource as the admin API answers it (GET /admin/sources, /admin/sources/{id}), for
// the OpenAPI document: services/sources.ts builds it. Kind-specific members are optional, so a
// kind added later documents itself by its own members.

const time = z.string().describe('A timestamp, e.g. 2025-03-01T10:00:00.000000Z');

export const sourceResource = z.object({
  id: z.uuid(),
  kind: z.string().describe("`peer` (a Vigil peer over signed pulls), `taxii` (a TAXII 2.1 server), `misp` (a MISP's events), …"),
  peer_id: z.uuid().optional().describe('kind peer: the peer client here'),
  peer_node_id: z.string().nullable().optional().describe("kind peer: the peer's node id"),
  remote_api_root: z.string().optional().describe('kind peer: the API root at the peer'),
  url: z.string().optional().describe("The server's API root URL, or the MISP's base URL (kinds other than peer)"),
  tags: z.array(z.string()).optional().describe('kind misp: only events with any of these tags (none: every event)'),
  published_only: z.boolean().optional().describe('kind misp: only published events'),
  auth: z
    .object({ kind: z.string(), username: z.string().optional(), name: z.string().optional() })
    .optional()
    .describe("How the node authenticates: the kind, Basic's user or the header's name; never the secret"),
  default_tlp: z.string().nullable().optional().describe('The TLP level of unmarked objects (null: the collection’s)'),
  remote_collection_id: z.string().describe("The collection's id where it is pulled from"),
  collection_id: z.uuid().describe('The collection here it is stored into'),
  interval_seconds: z.number().int(),
  cursor: z.string().nullable().describe('Where the next pull starts'),
  next_attempt: time,
  consecutive_failures: z.number().int().describe('Failed runs since the last success'),
  last_success: time.nullable().describe('When the last successful run ended (null: never)'),
  last_attempt: time.nullable().describe('When the last run ended, however it ended (null: never)'),
  lag_seconds: z.number().nullable().describe('Seconds since the last success (null: never)'),
  last_error: z.string().nullable().describe('Why the last run failed (null after a success)'),
  last_pulled_count: z.number().int().describe('Versions the last run stored'),
  stored_count: z.number().int().describe('Versions its pulls have stored, in all'),
  quarantined: z.number().int().describe('Versions received with other content than held here'),
  created: time,
});
