// Data types and common properties shared by STIX objects (STIX 2.1 §2, §3).
// Objects are loose: custom properties pass through, nothing is stripped.
import { z } from 'zod';
import { idSchema, refListSchema, refSchema, UUID_PATTERN } from './identifiers.ts';
import { timestampSchema } from './timestamp.ts';

/** Lists MUST NOT be empty (STIX 2.1 §2, list). */
export function list<T extends z.ZodType>(item: T) {
  return z.array(item).min(1);
}

export const stringListSchema = list(z.string());
export const nonNegativeIntSchema = z.int().min(0);
export const hexSchema = z.string().regex(/^(?:[0-9a-fA-F]{2})+$/, 'must be a hex string (an even number of hex digits)');
export const binarySchema = z
  .string()
  .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'must be base64 (RFC 4648)');
export const dictionarySchema = z.record(z.string(), z.unknown());

// Digest lengths of the hash-algorithm-ov entries that have a fixed hex form (§10).
const HEX_DIGEST_LENGTHS: ReadonlyMap<string, number> = new Map([
  ['MD5', 32],
  ['SHA-1', 40],
  ['SHA-256', 64],
  ['SHA-512', 128],
  ['SHA3-256', 64],
  ['SHA3-512', 128],
]);

/** hashes (§2): algorithm name → digest, at least one entry. */
export const hashesSchema = z
  .record(z.string().regex(/^[a-zA-Z0-9_-]{1,250}$/, 'hash algorithm names are limited to a-z, A-Z, 0-9, - and _'), z.string())
  .refine((hashes) => Object.keys(hashes).length > 0, 'must not be empty')
  .superRefine((hashes, ctx) => {
    for (const [name, value] of Object.entries(hashes)) {
      const length = HEX_DIGEST_LENGTHS.get(name);
      if (length !== undefined && (value.length !== length || !/^[0-9a-fA-F]*$/.test(value))) {
        ctx.addIssue({ code: 'custom', path: [name], message: `must be a ${name} digest (${length} hex digits)` });
      }
    }
  });

export const killChainPhaseSchema = z.looseObject({ kill_chain_name: z.string(), phase_name: z.string() });

/** external-reference (§2): source_name plus at least one of description, url, external_id. */
export const externalReferenceSchema = z
  .looseObject({
    source_name: z.string(),
    description: z.string().optional(),
    url: z.string().optional(),
    hashes: hashesSchema.optional(),
    external_id: z.string().optional(),
  })
  .refine(
    (ref) => ref.description !== undefined || ref.url !== undefined || ref.external_id !== undefined,
    'must have at least one of description, url or external_id besides source_name',
  );

/** granular-marking (§7.2.3): selectors plus exactly one of marking_ref and lang. */
export const granularMarkingSchema = z
  .looseObject({
    lang: z.string().optional(),
    marking_ref: refSchema('marking-definition').optional(),
    selectors: list(z.string()),
  })
  .refine((m) => (m.lang === undefined) !== (m.marking_ref === undefined), 'must have exactly one of marking_ref and lang');

export const EXTENSION_TYPES = ['new-sdo', 'new-sco', 'new-sro', 'property-extension', 'toplevel-property-extension'] as const;
const EXTENSION_NAME = /^[a-zA-Z0-9_-]{1,250}$/;

/**
 * extensions (§7.3): keys are extension-definition ids or (predefined or deprecated custom)
 * extension names; every value is an object. `known` adds schemas for predefined extensions.
 */
export function extensionsSchema(known: Record<string, z.ZodType> = {}) {
  const shape = Object.fromEntries(Object.entries(known).map(([name, schema]) => [name, schema.optional()]));
  return z.looseObject(shape).superRefine((extensions, ctx) => {
    for (const [key, value] of Object.entries(extensions)) {
      const definition = key.startsWith('extension-definition--');
      if (definition ? !UUID_PATTERN.test(key.slice(22)) : !EXTENSION_NAME.test(key)) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'must be keyed by an extension-definition id or an extension name' });
      } else if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'must be an object' });
      } else if (definition && Object.hasOwn(value, 'extension_type')) {
        const type = (value as { extension_type: unknown }).extension_type;
        if (!(EXTENSION_TYPES as readonly unknown[]).includes(type)) {
          const allowed = EXTENSION_TYPES.map((t) => `'${t}'`).join(', ');
          ctx.addIssue({ code: 'custom', path: [key, 'extension_type'], message: `must be one of: ${allowed}` });
        }
      }
    }
  });
}

const markingCommonShape = {
  created_by_ref: refSchema('identity').optional(),
  external_references: list(externalReferenceSchema).optional(),
  object_marking_refs: refListSchema('marking-definition').optional(),
  granular_markings: list(granularMarkingSchema).optional(),
  extensions: extensionsSchema().optional(),
};

/** Common properties of SDOs and SROs (§3), in the order issues are reported. */
export function sdoShape<T extends string>(type: T) {
  return {
    type: z.literal(type),
    spec_version: z.literal('2.1'),
    id: idSchema(type),
    created: timestampSchema,
    modified: timestampSchema,
    ...markingCommonShape,
    revoked: z.boolean().optional(),
    labels: stringListSchema.optional(),
    confidence: z.int().min(0).max(100).optional(),
    lang: z.string().optional(),
  };
}

/** Common properties of SCOs (§3): spec_version defaults to 2.1, no created/modified. */
export function scoShape<T extends string>(type: T, known: Record<string, z.ZodType> = {}) {
  return {
    type: z.literal(type),
    spec_version: z.literal('2.1').optional(),
    id: idSchema(type, { sco: true }),
    object_marking_refs: refListSchema('marking-definition').optional(),
    granular_markings: list(granularMarkingSchema).optional(),
    defanged: z.boolean().optional(),
    extensions: extensionsSchema(known).optional(),
  };
}
