// STIX object types and identifiers (STIX 2.1 §2 identifier, §3 `type`).
import { z } from 'zod';

/** a-z, 0-9 and single hyphens, starting with a letter and not ending with a hyphen; 3-250 chars checked apart. */
const TYPE_BODY = '[a-z][a-z0-9]*(?:-[a-z0-9]+)*';
export const TYPE_PATTERN = new RegExp(`^${TYPE_BODY}$`);
export const TYPE_MIN_LENGTH = 3;
export const TYPE_MAX_LENGTH = 250;

// RFC 4122 variant (10xx); versions 1-8 since RFC 9562 keeps the variant. Hex is
// case-insensitive on input (RFC 4122 §3) and real bundles carry upper-case digits.
const UUID_BODY = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}';
// SCO ids are UUIDv5 (deterministic) or UUIDv4 (STIX 2.1 §2 identifier).
const SCO_UUID_BODY = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[45][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}';

export const UUID_PATTERN = new RegExp(`^${UUID_BODY}$`);
export const SCO_UUID_PATTERN = new RegExp(`^${SCO_UUID_BODY}$`);
export const IDENTIFIER_PATTERN = new RegExp(`^${TYPE_BODY}--${UUID_BODY}$`);

export const SDO_TYPES: readonly string[] = [
  'attack-pattern',
  'campaign',
  'course-of-action',
  'grouping',
  'identity',
  'incident',
  'indicator',
  'infrastructure',
  'intrusion-set',
  'location',
  'malware',
  'malware-analysis',
  'note',
  'observed-data',
  'opinion',
  'report',
  'threat-actor',
  'tool',
  'vulnerability',
];
export const SRO_TYPES: readonly string[] = ['relationship', 'sighting'];
export const SCO_TYPES: readonly string[] = [
  'artifact',
  'autonomous-system',
  'directory',
  'domain-name',
  'email-addr',
  'email-message',
  'file',
  'ipv4-addr',
  'ipv6-addr',
  'mac-addr',
  'mutex',
  'network-traffic',
  'process',
  'software',
  'url',
  'user-account',
  'windows-registry-key',
  'x509-certificate',
];
export const META_TYPES: readonly string[] = ['marking-definition', 'language-content', 'extension-definition'];

export type ObjectKind = 'sdo' | 'sro' | 'sco' | 'meta' | 'custom';

const KINDS = new Map<string, ObjectKind>([
  ...SDO_TYPES.map((t) => [t, 'sdo'] as const),
  ...SRO_TYPES.map((t) => [t, 'sro'] as const),
  ...SCO_TYPES.map((t) => [t, 'sco'] as const),
  ...META_TYPES.map((t) => [t, 'meta'] as const),
]);

export function objectKind(type: string): ObjectKind {
  return KINDS.get(type) ?? 'custom';
}

export function isStixType(value: string): boolean {
  return value.length >= TYPE_MIN_LENGTH && value.length <= TYPE_MAX_LENGTH && TYPE_PATTERN.test(value);
}

export function isIdentifier(value: string): boolean {
  return IDENTIFIER_PATTERN.test(value) && isStixType(value.slice(0, value.indexOf('--')));
}

/** The type prefix and UUID of an identifier, or null when it has no `--` separator. */
export function splitIdentifier(value: string): { type: string; uuid: string } | null {
  const at = value.indexOf('--');
  return at < 0 ? null : { type: value.slice(0, at), uuid: value.slice(at + 2) };
}

/** The `id` property of an object of `type`; SCOs use the stricter UUID versions. */
export function idSchema(type: string, options: { sco?: boolean } = {}) {
  const uuid = options.sco ? SCO_UUID_BODY : UUID_BODY;
  const versions = options.sco ? 'a UUID version 4 or 5' : 'an RFC 4122 UUID';
  return z.string().regex(new RegExp(`^${type}--${uuid}$`), `must be '${type}--' followed by ${versions}`);
}

/** An identifier of any type, or of one of `types` (spec: "MUST be an identifier of type ..."). */
export function refSchema(...types: string[]) {
  if (types.length === 0) {
    return z.string().regex(IDENTIFIER_PATTERN, 'must be a STIX identifier (<type>--<UUID>)');
  }
  const names = types.map((t) => `'${t}'`).join(' or ');
  return z.string().regex(new RegExp(`^(?:${types.join('|')})--${UUID_BODY}$`), `must be an identifier of type ${names}`);
}

/** A non-empty list of identifiers (spec: lists MUST NOT be empty). */
export function refListSchema(...types: string[]) {
  return z.array(refSchema(...types)).min(1);
}
