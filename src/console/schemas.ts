import { z } from 'zod';
import { VigilError } from '../errors.ts';

// Every console input through zod; a failure is a VigilError naming the field, which the page
// shows beside the form (a 4xx, never a 5xx).

export const signInForm = z.object({
  token: z.string().trim().min(1, 'enter your client token').max(4096, 'that is too long to be a token'),
});

export const submitForm = z.object({
  file: z.instanceof(File).optional(),
  bundle: z.string().optional(),
});

/** STIX identifiers: `type--uuid`. Anything else names no object. */
export const stixId = z
  .string()
  .max(300)
  .regex(/^[a-z0-9][a-z0-9-]*--[0-9a-fA-F-]{36}$/, 'not a STIX identifier like indicator--<uuid>');

export function parseForm<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    throw new VigilError('bad-request', `${where}${issue.message}`);
  }
  return parsed.data;
}
