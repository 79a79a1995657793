// Validates one STIX object as received (STIX 2.1 §3-7, leniently STIX 2.0) and
// extracts what the store needs. The object itself is never transformed: callers
// store the original JSON. Dispatch is by `type` to one schema built at load time.
import type { z } from 'zod';
import { IDENTIFIER_PATTERN, isStixType, objectKind, splitIdentifier, UUID_PATTERN } from './identifiers.ts';
import { formatIssues, stixErrorMap } from './messages.ts';
import { customObjectSchema, legacyMarkingDefinitionSchema, legacyObjectSchema, stixObjectSchemas } from './object-schemas.ts';
import type { StixRecord } from './rules.ts';

export type StixMeta = {
  id: string;
  type: string;
  specVersion: string;
  /** The exact `modified` string, else `created`, else null (SCOs and the like). */
  version: string | null;
  /** object_marking_refs plus every granular_markings[].marking_ref, deduplicated. */
  markingRefs: string[];
};

export type ValidationResult =
  | { ok: true; meta: StixMeta }
  | { ok: false; id: string | null; version: string | null; message: string };

// §3 / §11.1: property names are a-z, 0-9 and _, start with a letter, 3-250 long
// (`id` is the one shorter spec name). This also turns away `__proto__` and friends.
const PROPERTY_NAME = /^[a-z][a-z0-9_]{2,249}$/;
// Types STIX 2.0 did not have: their objects are always 2.1.
const ONLY_21 = new Set(['language-content', 'extension-definition']);
const PARSE_OPTIONS = { error: stixErrorMap };

function shown(value: string): string {
  return value.length > 80 ? `'${value.slice(0, 80)}…'` : `'${value}'`;
}

function stringAt(object: StixRecord, key: string): string | null {
  const value = Object.hasOwn(object, key) ? object[key] : undefined;
  return typeof value === 'string' ? value : null;
}

/** The checks that decide which schema applies; a message, or the spec version. */
function checkHeader(object: StixRecord): { message: string } | { specVersion: '2.0' | '2.1' } {
  const type = object['type'];
  if (type === undefined) return { message: 'type: is required' };
  if (typeof type !== 'string') return { message: 'type: must be a string' };
  if (!isStixType(type)) {
    return { message: `type: ${shown(type)} is not a STIX type (3-250 characters of a-z, 0-9 and single hyphens, starting with a letter)` };
  }
  if (type === 'bundle') return { message: "type: 'bundle' is a container, not a STIX object" };
  for (const key of Object.keys(object)) {
    if (key !== 'id' && !PROPERTY_NAME.test(key)) {
      return { message: `${shown(key)}: is not a valid property name (3-250 characters of a-z, 0-9 and _, starting with a letter)` };
    }
  }
  const id = object['id'];
  if (id === undefined) return { message: 'id: is required' };
  if (typeof id !== 'string') return { message: 'id: must be a string' };
  const parts = splitIdentifier(id);
  if (parts === null) return { message: `id: must be '${type}--' followed by a UUID` };
  if (parts.type !== type) return { message: `id: type prefix ${shown(parts.type)} does not match type '${type}'` };
  if (!UUID_PATTERN.test(parts.uuid)) return { message: `id: ${shown(parts.uuid)} is not an RFC 4122 UUID` };
  return specVersionOf(object, type);
}

// §3: SCOs may omit spec_version (2.1); an SDO-like object without it is STIX 2.0,
// where objects had none. A custom type is SDO-like when it has created or modified.
function specVersionOf(object: StixRecord, type: string): { message: string } | { specVersion: '2.0' | '2.1' } {
  const kind = objectKind(type);
  const value = object['spec_version'];
  const scoLike = kind === 'sco' || (kind === 'custom' && object['created'] === undefined && object['modified'] === undefined);
  const may20 = kind !== 'sco' && !ONLY_21.has(type);
  if (value === '2.1') return { specVersion: '2.1' };
  if (value === undefined) {
    if (scoLike) return { specVersion: '2.1' };
    return may20 ? { specVersion: '2.0' } : { message: 'spec_version: is required' };
  }
  if (value === '2.0' && may20) return { specVersion: '2.0' };
  return { message: may20 ? "spec_version: must be '2.1' (or '2.0' for a STIX 2.0 object)" : "spec_version: must be '2.1'" };
}

function schemaFor(type: string, specVersion: '2.0' | '2.1'): z.ZodType {
  if (specVersion === '2.0') return type === 'marking-definition' ? legacyMarkingDefinitionSchema : legacyObjectSchema;
  // hasOwn: a custom type may be named like an Object.prototype member (`constructor`).
  return Object.hasOwn(stixObjectSchemas, type) ? stixObjectSchemas[type]! : customObjectSchema;
}

// Custom properties named *_ref / *_refs are references too (§3 naming convention).
// Spec properties were checked, non-empty lists included, by the schema; an empty custom
// list is let through, as platforms export them (OpenCTI's x_opencti_granted_refs).
function checkCustomReferences(object: StixRecord): string | null {
  for (const [key, value] of Object.entries(object)) {
    if (key.endsWith('_ref')) {
      if (typeof value !== 'string' || !IDENTIFIER_PATTERN.test(value)) return `${key}: must be a STIX identifier (<type>--<UUID>)`;
    } else if (key.endsWith('_refs')) {
      if (!Array.isArray(value)) return `${key}: must be a list of STIX identifiers`;
      const bad = value.findIndex((v: unknown) => typeof v !== 'string' || !IDENTIFIER_PATTERN.test(v));
      if (bad >= 0) return `${key}[${bad}]: must be a STIX identifier (<type>--<UUID>)`;
    }
  }
  return null;
}

function markingRefsOf(object: StixRecord): string[] {
  const refs = new Set<string>();
  const objectRefs = object['object_marking_refs'];
  if (Array.isArray(objectRefs)) for (const ref of objectRefs) if (typeof ref === 'string') refs.add(ref);
  const granular = object['granular_markings'];
  if (Array.isArray(granular)) {
    for (const marking of granular) {
      const ref = typeof marking === 'object' && marking !== null ? (marking as StixRecord)['marking_ref'] : undefined;
      if (typeof ref === 'string') refs.add(ref);
    }
  }
  return [...refs];
}

function validate(input: unknown): ValidationResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, id: null, version: null, message: 'object: must be a JSON object' };
  }
  const object = input as StixRecord;
  const id = stringAt(object, 'id');
  const version = stringAt(object, 'modified') ?? stringAt(object, 'created');
  const fail = (message: string): ValidationResult => ({ ok: false, id, version, message });

  const header = checkHeader(object);
  if ('message' in header) return fail(header.message);
  const type = object['type'] as string;
  const result = schemaFor(type, header.specVersion).safeParse(object, PARSE_OPTIONS);
  if (!result.success) return fail(formatIssues(result.error.issues));
  const referenceProblem = checkCustomReferences(object);
  if (referenceProblem !== null) return fail(referenceProblem);

  return {
    ok: true,
    meta: { id: id as string, type, specVersion: header.specVersion, version, markingRefs: markingRefsOf(object) },
  };
}

/** Validates one STIX object; never throws, whatever the input. */
export function validateStixObject(input: unknown): ValidationResult {
  try {
    return validate(input);
  } catch (error) {
    // Not expected from JSON input (throwing getters, say); one odd object fails itself only.
    let id: string | null = null;
    let reason = 'unexpected error';
    try {
      reason = String(error);
      id = typeof input === 'object' && input !== null ? stringAt(input as StixRecord, 'id') : null;
    } catch {
      // keep what was found
    }
    return { ok: false, id, version: null, message: `object: could not be validated (${reason})` };
  }
}
