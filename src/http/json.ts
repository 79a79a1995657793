import type { Context } from 'hono';
import type { z } from 'zod';
import { VigilError } from '../errors.ts';
import { readBodyText } from '../taxii/body.ts';
import type { JsonLimits } from '../taxii/json-limits.ts';

// Request parsing shared by the JSON APIs (admin, alerts): every input through a zod schema,
// every failure a 400 that names the field.

const BODY_LIMIT = 1_048_576;
/**
 * The admin and alert APIs' bodies are small: a client with its grants (10,000 at most), a
 * subscription with its filters. Bounded as they stream in, like a STIX body (json-limits.ts).
 */
const LIMITS: JsonLimits = { maxDepth: 16, maxMembers: 1_000, maxStringBytes: 65_536, maxObjects: 10_000 };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function firstIssue(error: z.ZodError, fallback: string): VigilError {
  return new VigilError('bad-request', issueMessage(error, fallback));
}

/** A zod failure as a user reads it: where (the field's path, else `fallback`) and what. */
export function issueMessage(error: z.ZodError, fallback: string): string {
  const issue = error.issues[0]!;
  const where = issue.path.length ? issue.path.join('.') : fallback;
  return `${where}: ${issue.message}`;
}

export async function jsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const text = await readBodyText(c.req.raw, BODY_LIMIT, LIMITS);
  let json: unknown;
  try {
    json = JSON.parse(text || '{}');
  } catch {
    throw new VigilError('invalid-json');
  }
  return parsedAs(schema, json);
}

/** A value already read from the body, checked against a schema: a 400 naming the field where it fails. */
export function parsedAs<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw firstIssue(parsed.error, 'body');
  return parsed.data;
}

export function queryParams<T extends z.ZodType>(c: Context, schema: T): z.infer<T> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw firstIssue(parsed.error, 'query');
  return parsed.data;
}

/** A path id that is not a uuid names nothing: 404, not a database error. */
export function uuidParam(value: string, what: string): string {
  if (!UUID.test(value)) throw new VigilError('not-found', `no ${what} '${value.slice(0, 100)}'`);
  return value.toLowerCase();
}
