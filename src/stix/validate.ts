// Validates one STIX object as received (STIX 2.1 §3-7, leniently STIX 2.0) and
// extracts what the store needs. The object itself is never transformed: callers
// store the original JSON. Dispatch is by `type` to one schema built at load time.
import { z } from 'zod';
import { IDENTIFIER_PATTERN, isStixType, objectKind, splitIdentifier, UUID_PATTERN } from './identifiers.ts';
import { formatIssues, formatPath, stixErrorMap } from './messages.ts';
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

export type ValidationResult = { ok: true; meta: StixMeta } | { ok: false; id: string | null; version: string | null; message: string };

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

// Custom properties are judged by their names only (STIX 2.1 §11.1, worded as STIX 2.0
// Part 1 §7.1.1), which PROPERTY_NAME above enforces: "Custom Property names MUST be in ASCII
// and MUST only contain the characters a–z (lowercase ASCII), 0–9, and underscore (_)", "MUST
// have a minimum length of 3 ASCII characters", "MUST be no longer than 250 ASCII characters";
// 2.1 adds that property names MUST begin with a letter. The "x_" prefix is a SHOULD ("Custom
// Property names SHOULD start with “x_”"), so names without it are not refused.
// No rule gives a custom property's value a type. §2.9 binds values of type identifier ("All
// identifiers ... MUST follow the form object-type--UUID"), and a property has that type only
// where the spec's property tables say so (§3.1: names are "exactly the same ... as the names
// listed in the property tables"); a name ending in _ref is a convention of those tables, not
// a requirement on custom properties. So a custom *_ref / *_refs property may hold any JSON
// value: ATT&CK for ICS ships "x_mitre_data_source_ref": "". The OASIS stix2-validator (its
// JSON schema's common/properties.json) and python-stix2 check custom names, not these values.
// Spec reference properties of a 2.1 object are checked, types and all, by its zod schema;
// TLP visibility only ever reads those (policy/references.ts, object_marking_refs, marking_ref).

/** The reference properties STIX defines, by type: the *_ref / *_refs keys of each schema. */
const SPEC_REFERENCES: ReadonlyMap<string, readonly string[]> = new Map(
  Object.entries(stixObjectSchemas).map(([type, schema]) => [
    type,
    schema instanceof z.ZodObject ? Object.keys(schema.shape).filter((key) => key.endsWith('_ref') || key.endsWith('_refs')) : [],
  ]),
);

// The lenient STIX 2.0 schema checks the common properties only, so a 2.0 object's own
// reference properties (source_ref, object_refs, ...) are checked here, as before: they are
// what a link or container exposes. An empty list is let through, as it always was for 2.0.
function checkLegacyReferences(object: StixRecord, type: string): string | null {
  for (const key of SPEC_REFERENCES.get(type) ?? []) {
    if (!Object.hasOwn(object, key)) continue;
    const value = object[key];
    if (key.endsWith('_ref')) {
      if (typeof value !== 'string' || !IDENTIFIER_PATTERN.test(value)) return `${key}: must be a STIX identifier (<type>--<UUID>)`;
    } else {
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

/**
 * The path of the first number that is not finite once parsed (`1e400` is Infinity in
 * JavaScript): I-JSON (RFC 7493 §2.2) keeps numbers within IEEE 754 doubles, and this node
 * signs and compares objects as JavaScript values. Iterative: depth is bounded before parsing,
 * but not for every caller.
 */
function nonFiniteNumberPath(object: StixRecord): string | null {
  // Each value knows its parent, so a path is only built for the number found: a walk of
  // 50,000 nested levels stays linear.
  type Frame = { value: unknown; key: PropertyKey | null; parent: Frame | null };
  const stack: Frame[] = [{ value: object, key: null, parent: null }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { value } = frame;
    if (typeof value === 'number') {
      if (Number.isFinite(value)) continue;
      const path: PropertyKey[] = [];
      for (let f: Frame | null = frame; f !== null && f.key !== null; f = f.parent) path.unshift(f.key);
      return formatPath(path);
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], key: i, parent: frame });
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, member] of Object.entries(value)) stack.push({ value: member, key, parent: frame });
    }
  }
  return null;
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
  const referenceProblem = header.specVersion === '2.0' ? checkLegacyReferences(object, type) : null;
  if (referenceProblem !== null) return fail(referenceProblem);
  const outOfRange = nonFiniteNumberPath(object);
  if (outOfRange !== null)
    return fail(`${outOfRange}: a number out of range: JSON numbers must fit an IEEE 754 double (I-JSON, RFC 7493 §2.2)`);
  // The node orders versions as PostgreSQL timestamps, which start at year 1.
  if (version?.startsWith('0000-')) {
    return fail(
      `${stringAt(object, 'modified') !== null ? 'modified' : 'created'}: year 0000 cannot be stored as a version (timestamps here start at 0001)`,
    );
  }

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
