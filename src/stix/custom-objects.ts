// Objects outside the spec's list (STIX 2.1 §11.2 custom objects, §7.3 new object types
// from extension definitions): only the common properties are checked, all optional
// but id, because a custom type does not say whether it is SDO-like or SCO-like.
import { z } from 'zod';
import { externalReferenceSchema, extensionsSchema, granularMarkingSchema, list, stringListSchema } from './common.ts';
import { refListSchema, refSchema } from './identifiers.ts';
import { stixObject } from './rules.ts';
import { timestampSchema } from './timestamp.ts';

export const customObjectSchema = stixObject({
  type: z.string(),
  spec_version: z.literal('2.1').optional(),
  id: refSchema(),
  created: timestampSchema.optional(),
  modified: timestampSchema.optional(),
  created_by_ref: refSchema('identity').optional(),
  external_references: list(externalReferenceSchema).optional(),
  object_marking_refs: refListSchema('marking-definition').optional(),
  granular_markings: list(granularMarkingSchema).optional(),
  extensions: extensionsSchema().optional(),
  revoked: z.boolean().optional(),
  labels: stringListSchema.optional(),
  confidence: z.int().min(0).max(100).optional(),
  lang: z.string().optional(),
  defanged: z.boolean().optional(),
});
