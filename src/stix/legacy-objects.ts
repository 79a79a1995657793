// STIX 2.0 objects, which this node stores beside 2.1 ones (TAXII 2.1 match[spec_version]).
// Checked leniently: the common properties as STIX 2.0 Part 1 §3.1 defines them, not
// the per-type rules, which changed between 2.0 and 2.1.
import { z } from 'zod';
import { list, stringListSchema } from './common.ts';
import { refListSchema, refSchema } from './identifiers.ts';
import { MARKING_RULES } from './meta-objects.ts';
import { stixObject } from './rules.ts';
import { timestampSchema } from './timestamp.ts';

const legacyMarkingShape = {
  created_by_ref: refSchema('identity').optional(),
  // 2.0 does not require description, url or external_id besides source_name.
  external_references: list(z.looseObject({ source_name: z.string() })).optional(),
  object_marking_refs: refListSchema('marking-definition').optional(),
  // 2.0 granular markings have no `lang`: marking_ref is required.
  granular_markings: list(z.looseObject({ marking_ref: refSchema('marking-definition'), selectors: list(z.string()) })).optional(),
};

/** Any STIX 2.0 SDO, SRO or custom object: spec_version absent or "2.0". */
export const legacyObjectSchema = stixObject({
  type: z.string(),
  spec_version: z.literal('2.0').optional(),
  id: refSchema(),
  created: timestampSchema,
  modified: timestampSchema,
  ...legacyMarkingShape,
  revoked: z.boolean().optional(),
  labels: stringListSchema.optional(),
});

/** A STIX 2.0 marking-definition (Part 1, data markings): no extensions, so definition_type and definition. */
export const legacyMarkingDefinitionSchema = stixObject(
  {
    type: z.literal('marking-definition'),
    spec_version: z.literal('2.0').optional(),
    id: refSchema('marking-definition'),
    created: timestampSchema,
    ...legacyMarkingShape,
    definition_type: z.string(),
    definition: z.looseObject({}),
  },
  ...MARKING_RULES,
);
