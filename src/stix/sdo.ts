// STIX Domain Objects (STIX 2.1 §4): each schema lists the type's own properties
// after the common ones; open vocabularies are plain strings.
import { z } from 'zod';
import { killChainPhaseSchema, list, sdoShape, stringListSchema } from './common.ts';
import { refListSchema, refSchema } from './identifiers.ts';
import { parsePattern } from './pattern.ts';
import { atLeastOneOf, inOrder, notBoth, requires, stixObject } from './rules.ts';
import type { Rule } from './rules.ts';
import { timestampSchema } from './timestamp.ts';

const killChainPhases = list(killChainPhaseSchema).optional();
const seen = { first_seen: timestampSchema.optional(), last_seen: timestampSchema.optional() };
const seenInOrder = inOrder('first_seen', 'last_seen');

export const attackPatternSchema = stixObject({
  ...sdoShape('attack-pattern'),
  name: z.string(),
  description: z.string().optional(),
  aliases: stringListSchema.optional(),
  kill_chain_phases: killChainPhases,
});

export const campaignSchema = stixObject(
  {
    ...sdoShape('campaign'),
    name: z.string(),
    description: z.string().optional(),
    aliases: stringListSchema.optional(),
    ...seen,
    objective: z.string().optional(),
  },
  seenInOrder,
);

export const courseOfActionSchema = stixObject({
  ...sdoShape('course-of-action'),
  name: z.string(),
  description: z.string().optional(),
});

export const groupingSchema = stixObject({
  ...sdoShape('grouping'),
  name: z.string().optional(),
  description: z.string().optional(),
  context: z.string(),
  object_refs: refListSchema(),
});

export const identitySchema = stixObject({
  ...sdoShape('identity'),
  name: z.string(),
  description: z.string().optional(),
  roles: stringListSchema.optional(),
  identity_class: z.string().optional(),
  sectors: stringListSchema.optional(),
  contact_information: z.string().optional(),
});

export const incidentSchema = stixObject({
  ...sdoShape('incident'),
  name: z.string(),
  description: z.string().optional(),
  kill_chain_phases: killChainPhases,
});

// §9: a `stix` pattern must parse; other pattern languages (snort, yara, ...) are opaque.
const patternParses: Rule = (object, ctx) => {
  if (object['pattern_type'] !== 'stix' || typeof object['pattern'] !== 'string') return;
  let result: ReturnType<typeof parsePattern>;
  try {
    result = parsePattern(object['pattern']);
  } catch (error) {
    ctx.addIssue({ code: 'custom', path: ['pattern'], message: `could not be parsed (${String(error)})` });
    return;
  }
  if (!result.ok) {
    ctx.addIssue({
      code: 'custom',
      path: ['pattern'],
      message: `syntax error at line ${result.line}, column ${result.column}: ${result.message}`,
    });
  }
};

export const indicatorSchema = stixObject(
  {
    ...sdoShape('indicator'),
    name: z.string().optional(),
    description: z.string().optional(),
    indicator_types: stringListSchema.optional(),
    pattern: z.string(),
    pattern_type: z.string(),
    pattern_version: z.string().optional(),
    valid_from: timestampSchema,
    valid_until: timestampSchema.optional(),
    kill_chain_phases: killChainPhases,
  },
  inOrder('valid_from', 'valid_until', { strict: true }),
  patternParses,
);

export const infrastructureSchema = stixObject(
  {
    ...sdoShape('infrastructure'),
    name: z.string(),
    description: z.string().optional(),
    infrastructure_types: stringListSchema.optional(),
    aliases: stringListSchema.optional(),
    kill_chain_phases: killChainPhases,
    ...seen,
  },
  seenInOrder,
);

export const intrusionSetSchema = stixObject(
  {
    ...sdoShape('intrusion-set'),
    name: z.string(),
    description: z.string().optional(),
    aliases: stringListSchema.optional(),
    ...seen,
    goals: stringListSchema.optional(),
    resource_level: z.string().optional(),
    primary_motivation: z.string().optional(),
    secondary_motivations: stringListSchema.optional(),
  },
  seenInOrder,
);

// §4.10: a location needs a region, a country, or a latitude/longitude pair.
export const locationSchema = stixObject(
  {
    ...sdoShape('location'),
    name: z.string().optional(),
    description: z.string().optional(),
    latitude: z.number().min(-90).max(90).optional(),
    longitude: z.number().min(-180).max(180).optional(),
    precision: z.number().min(0).optional(),
    region: z.string().optional(),
    country: z.string().optional(),
    administrative_area: z.string().optional(),
    city: z.string().optional(),
    street_address: z.string().optional(),
    postal_code: z.string().optional(),
  },
  atLeastOneOf('region', 'country', 'latitude'),
  requires('latitude', 'longitude'),
  requires('longitude', 'latitude'),
  requires('precision', 'latitude', 'longitude'),
);

// §4.11: a malware family must be named.
const familyNamed: Rule = (object, ctx) => {
  if (object['is_family'] === true && object['name'] === undefined) {
    ctx.addIssue({ code: 'custom', path: ['name'], message: 'is required when is_family is true' });
  }
};

export const malwareSchema = stixObject(
  {
    ...sdoShape('malware'),
    name: z.string().optional(),
    description: z.string().optional(),
    malware_types: stringListSchema.optional(),
    is_family: z.boolean(),
    aliases: stringListSchema.optional(),
    kill_chain_phases: killChainPhases,
    ...seen,
    operating_system_refs: refListSchema('software').optional(),
    architecture_execution_envs: stringListSchema.optional(),
    implementation_languages: stringListSchema.optional(),
    capabilities: stringListSchema.optional(),
    sample_refs: refListSchema('file', 'artifact').optional(),
  },
  seenInOrder,
  familyNamed,
);

export const malwareAnalysisSchema = stixObject(
  {
    ...sdoShape('malware-analysis'),
    product: z.string(),
    version: z.string().optional(),
    host_vm_ref: refSchema('software').optional(),
    operating_system_ref: refSchema('software').optional(),
    installed_software_refs: refListSchema('software').optional(),
    configuration_version: z.string().optional(),
    modules: stringListSchema.optional(),
    analysis_engine_version: z.string().optional(),
    analysis_definition_version: z.string().optional(),
    submitted: timestampSchema.optional(),
    analysis_started: timestampSchema.optional(),
    analysis_ended: timestampSchema.optional(),
    result_name: z.string().optional(),
    result: z.string().optional(),
    analysis_sco_refs: refListSchema().optional(),
    sample_ref: refSchema('file', 'network-traffic', 'artifact').optional(),
  },
  atLeastOneOf('result', 'analysis_sco_refs'),
);

export const noteSchema = stixObject({
  ...sdoShape('note'),
  abstract: z.string().optional(),
  content: z.string(),
  authors: stringListSchema.optional(),
  object_refs: refListSchema(),
});

// §4.14: `objects` is the deprecated embedded form of `object_refs`; exactly one is present.
export const observedDataSchema = stixObject(
  {
    ...sdoShape('observed-data'),
    first_observed: timestampSchema,
    last_observed: timestampSchema,
    number_observed: z.int().min(1).max(999_999_999),
    objects: z.record(z.string(), z.looseObject({ type: z.string() })).optional(),
    object_refs: refListSchema().optional(),
  },
  inOrder('first_observed', 'last_observed'),
  atLeastOneOf('object_refs', 'objects'),
  notBoth('object_refs', 'objects'),
);

export const opinionSchema = stixObject({
  ...sdoShape('opinion'),
  explanation: z.string().optional(),
  authors: stringListSchema.optional(),
  opinion: z.enum(['strongly-disagree', 'disagree', 'neutral', 'agree', 'strongly-agree']),
  object_refs: refListSchema(),
});

export const reportSchema = stixObject({
  ...sdoShape('report'),
  name: z.string(),
  description: z.string().optional(),
  report_types: stringListSchema.optional(),
  published: timestampSchema,
  object_refs: refListSchema(),
});

export const threatActorSchema = stixObject(
  {
    ...sdoShape('threat-actor'),
    name: z.string(),
    description: z.string().optional(),
    threat_actor_types: stringListSchema.optional(),
    aliases: stringListSchema.optional(),
    ...seen,
    roles: stringListSchema.optional(),
    goals: stringListSchema.optional(),
    sophistication: z.string().optional(),
    resource_level: z.string().optional(),
    primary_motivation: z.string().optional(),
    secondary_motivations: stringListSchema.optional(),
    personal_motivations: stringListSchema.optional(),
  },
  seenInOrder,
);

export const toolSchema = stixObject({
  ...sdoShape('tool'),
  name: z.string(),
  description: z.string().optional(),
  tool_types: stringListSchema.optional(),
  aliases: stringListSchema.optional(),
  kill_chain_phases: killChainPhases,
  tool_version: z.string().optional(),
});

export const vulnerabilitySchema = stixObject({
  ...sdoShape('vulnerability'),
  name: z.string(),
  description: z.string().optional(),
});

export const sdoSchemas: Readonly<Record<string, z.ZodType>> = {
  'attack-pattern': attackPatternSchema,
  campaign: campaignSchema,
  'course-of-action': courseOfActionSchema,
  grouping: groupingSchema,
  identity: identitySchema,
  incident: incidentSchema,
  indicator: indicatorSchema,
  infrastructure: infrastructureSchema,
  'intrusion-set': intrusionSetSchema,
  location: locationSchema,
  malware: malwareSchema,
  'malware-analysis': malwareAnalysisSchema,
  note: noteSchema,
  'observed-data': observedDataSchema,
  opinion: opinionSchema,
  report: reportSchema,
  'threat-actor': threatActorSchema,
  tool: toolSchema,
  vulnerability: vulnerabilitySchema,
};
