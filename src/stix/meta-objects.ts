// STIX Meta Objects (STIX 2.1 §7): marking-definition, language-content, extension-definition.
import { z } from 'zod';
import {
  EXTENSION_TYPES,
  externalReferenceSchema,
  extensionsSchema,
  granularMarkingSchema,
  list,
  sdoShape,
  stringListSchema,
} from './common.ts';
import { idSchema, refListSchema, refSchema } from './identifiers.ts';
import { stixObject } from './rules.ts';
import type { Rule, StixRecord } from './rules.ts';
import { compareTimestamps, isStixTimestamp, timestampSchema } from './timestamp.ts';

// §7.2.1: the only TLP 1.0 marking definitions allowed, all created at this instant.
export const TLP1_MARKINGS: ReadonlyMap<string, string> = new Map([
  ['marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9', 'white'],
  ['marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da', 'green'],
  ['marking-definition--f88d31f6-486f-44da-b317-01333bde0b82', 'amber'],
  ['marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed', 'red'],
]);
export const TLP1_CREATED = '2017-01-20T00:00:00.000Z';
export const TLP2_EXTENSION_ID = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';
export const TLP2_LEVELS = ['clear', 'green', 'amber', 'amber+strict', 'red'] as const;

function record(value: unknown): StixRecord | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as StixRecord) : undefined;
}

// §7.2.1: without extensions, a marking is defined by definition_type + definition.
const definedSomehow: Rule = (object, ctx) => {
  if (object['extensions'] !== undefined) return;
  for (const property of ['definition_type', 'definition']) {
    if (object[property] === undefined) {
      ctx.addIssue({ code: 'custom', path: [property], message: 'is required when extensions is absent' });
    }
  }
};

const tlpMarkingIsPredefined: Rule = (object, ctx) => {
  if (object['definition_type'] !== 'tlp') return;
  const level = record(object['definition'])?.['tlp'];
  if (!['white', 'green', 'amber', 'red'].includes(level as string)) {
    ctx.addIssue({ code: 'custom', path: ['definition', 'tlp'], message: "must be one of: 'white', 'green', 'amber', 'red'" });
    return;
  }
  const id = typeof object['id'] === 'string' ? object['id'].toLowerCase() : '';
  if (TLP1_MARKINGS.get(id) !== level) {
    ctx.addIssue({
      code: 'custom',
      path: ['id'],
      message: `must be the predefined TLP:${String(level).toUpperCase()} marking-definition id`,
    });
  }
  const created = object['created'];
  if (isStixTimestamp(created) && compareTimestamps(created, TLP1_CREATED) !== 0) {
    ctx.addIssue({ code: 'custom', path: ['created'], message: `must be ${TLP1_CREATED} for a TLP 1.0 marking` });
  }
};

const statementHasText: Rule = (object, ctx) => {
  if (object['definition_type'] !== 'statement') return;
  if (typeof record(object['definition'])?.['statement'] !== 'string') {
    ctx.addIssue({ code: 'custom', path: ['definition', 'statement'], message: 'must be a string' });
  }
};

const tlp2LevelKnown: Rule = (object, ctx) => {
  const extension = record(record(object['extensions'])?.[TLP2_EXTENSION_ID]);
  if (extension && !(TLP2_LEVELS as readonly unknown[]).includes(extension['tlp_2_0'])) {
    const allowed = TLP2_LEVELS.map((l) => `'${l}'`).join(', ');
    ctx.addIssue({ code: 'custom', path: ['extensions', TLP2_EXTENSION_ID, 'tlp_2_0'], message: `must be one of: ${allowed}` });
  }
};

export const MARKING_RULES: readonly Rule[] = [definedSomehow, tlpMarkingIsPredefined, statementHasText, tlp2LevelKnown];

// Marking definitions are not versioned (§7.2.1): no `modified` in the spec, tolerated if valid.
export const markingDefinitionSchema = stixObject(
  {
    type: z.literal('marking-definition'),
    spec_version: z.literal('2.1'),
    id: idSchema('marking-definition'),
    created: timestampSchema,
    modified: timestampSchema.optional(),
    created_by_ref: refSchema('identity').optional(),
    external_references: list(externalReferenceSchema).optional(),
    object_marking_refs: refListSchema('marking-definition').optional(),
    granular_markings: list(granularMarkingSchema).optional(),
    extensions: extensionsSchema().optional(),
    name: z.string().optional(),
    definition_type: z.string().optional(),
    definition: z.looseObject({}).optional(),
  },
  ...MARKING_RULES,
);

// §7.1: contents maps a language tag to the translated properties.
export const languageContentSchema = stixObject({
  ...sdoShape('language-content'),
  object_ref: refSchema(),
  object_modified: timestampSchema.optional(),
  contents: z
    .record(z.string(), z.record(z.string(), z.unknown()))
    .refine((contents) => Object.keys(contents).length > 0, 'must not be empty'),
});

export const extensionDefinitionSchema = stixObject({
  ...sdoShape('extension-definition'),
  created_by_ref: refSchema('identity'),
  name: z.string(),
  description: z.string().optional(),
  schema: z.string(),
  version: z.string(),
  extension_types: list(z.enum(EXTENSION_TYPES)),
  extension_properties: stringListSchema.optional(),
});

export const metaObjectSchemas: Readonly<Record<string, z.ZodType>> = {
  'marking-definition': markingDefinitionSchema,
  'language-content': languageContentSchema,
  'extension-definition': extensionDefinitionSchema,
};
