// STIX Relationship Objects (STIX 2.1 §5).
import { z } from 'zod';
import { sdoShape } from './common.ts';
import { refListSchema, refSchema } from './identifiers.ts';
import { inOrder, stixObject } from './rules.ts';
import { timestampSchema } from './timestamp.ts';

// §5.1: relationship types are limited to a-z, 0-9 and hyphen. Source and target may be
// any object: the spec says SDO or SCO, but custom types cannot be told apart.
export const relationshipSchema = stixObject(
  {
    ...sdoShape('relationship'),
    relationship_type: z.string().regex(/^[a-z0-9-]+$/, 'must be limited to a-z, 0-9 and hyphen'),
    description: z.string().optional(),
    source_ref: refSchema(),
    target_ref: refSchema(),
    start_time: timestampSchema.optional(),
    stop_time: timestampSchema.optional(),
  },
  inOrder('start_time', 'stop_time', { strict: true }),
);

export const sightingSchema = stixObject(
  {
    ...sdoShape('sighting'),
    description: z.string().optional(),
    first_seen: timestampSchema.optional(),
    last_seen: timestampSchema.optional(),
    count: z.int().min(0).max(999_999_999).optional(),
    sighting_of_ref: refSchema(),
    observed_data_refs: refListSchema('observed-data').optional(),
    where_sighted_refs: refListSchema('identity', 'location').optional(),
    summary: z.boolean().optional(),
  },
  inOrder('first_seen', 'last_seen'),
);

export const sroSchemas: Readonly<Record<string, z.ZodType>> = {
  relationship: relationshipSchema,
  sighting: sightingSchema,
};
