import { z } from 'zod';

// The admin API's request bodies: the single definition used to validate and to document.

const RESERVED = new Set(['taxii2', 'admin', 'healthz', 'readyz', 'metrics', 'openapi.json', 'docs', 'console', '.well-known']);

export const apiRootName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be 1-63 characters: lower-case letters, digits, ".", "_" or "-"')
  .refine((n) => !RESERVED.has(n), 'is reserved for the node itself');

const text = (max: number) => z.string().trim().min(1).max(max);

export const createApiRootBody = z.strictObject({
  name: apiRootName,
  title: text(200),
  description: text(2000).optional(),
  max_content_length: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});

export const updateApiRootBody = z.strictObject({
  title: text(200).optional(),
  description: text(2000).nullable().optional(),
  max_content_length: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});

export const createCollectionBody = z.strictObject({
  api_root: apiRootName,
  id: z.uuid().optional(),
  title: text(200),
  description: text(2000).optional(),
  alias: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be 1-63 characters: lower-case letters, digits, ".", "_" or "-"').optional(),
});

export const updateCollectionBody = z.strictObject({
  title: text(200).optional(),
  description: text(2000).nullable().optional(),
  alias: createCollectionBody.shape.alias.unwrap().nullable().optional(),
});

export const grantBody = z.strictObject({
  collection_id: z.uuid(),
  can_read: z.boolean(),
  can_write: z.boolean(),
});

export const clientName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/, 'must be 1-100 characters: letters, digits, ".", "_", "@" or "-" (no ":", which HTTP Basic cannot carry)')
  .refine((n) => n !== 'admin', 'is reserved for the admin token');

export const createClientBody = z.strictObject({
  name: clientName,
  grants: z.array(grantBody).max(10_000).optional(),
});

export const updateClientBody = z.strictObject({ name: clientName.optional() });

export const putGrantBody = grantBody.omit({ collection_id: true });
