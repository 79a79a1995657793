import { z } from 'zod';
import { alertFilterSchema } from '../services/alert-filter.ts';

// The alert API's request bodies and queries: the single definition used to validate and to document.

const uuid = z.uuid().transform((v) => v.toLowerCase());

export const createAlertSubscriptionBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  /** Collection ids the client may read. */
  collections: z.array(uuid).min(1).max(100),
  /** No filter: every object stored in the collections. */
  filter: alertFilterSchema.default({}),
  /** Omitted or null: alerts go to the stream only. */
  webhook_url: z.string().max(2048).nullable().optional(),
  payload: z.enum(['objects', 'ids']).default('objects'),
  active: z.boolean().default(true),
  /** Only the admin names a client; a client subscribes for itself. */
  client_id: uuid.optional(),
});

export const updateAlertSubscriptionBody = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  collections: z.array(uuid).min(1).max(100).optional(),
  /** Replaces the whole filter. */
  filter: alertFilterSchema.optional(),
  webhook_url: z.string().max(2048).nullable().optional(),
  payload: z.enum(['objects', 'ids']).optional(),
  active: z.boolean().optional(),
});

export const deliveriesQuery = z.strictObject({
  state: z.enum(['pending', 'delivered', 'dead', 'stream', 'withheld']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
