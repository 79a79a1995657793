import { z } from 'zod';
import { VigilError } from '../errors.ts';
import type { QueryFilters, VersionMatch } from '../store/objects-query.ts';
import type { PageRequest } from '../services/read-objects.ts';
import { toMicroseconds } from './timestamp.ts';

// TAXII 2.1 §3.4: the query parameters of the paginated endpoints. A repeated key is a 400
// (the interoperability document tests it); comma lists mean OR.

const list = (name: string, item: z.ZodType<string, string>) =>
  z
    .string()
    .transform((s) => s.split(','))
    .pipe(z.array(item).min(1))
    .describe(name);

const timestamp = z.string().transform((s, ctx) => {
  const t = toMicroseconds(s);
  if (!t) ctx.addIssue({ code: 'custom', message: `'${s}' is not a timestamp like 2021-06-01T00:00:00.000000Z` });
  return t ?? '';
});

const versionItem = z.string().transform((s, ctx): VersionMatch => {
  if (s === 'last' || s === 'first' || s === 'all') return { kind: s };
  const at = toMicroseconds(s);
  if (!at) ctx.addIssue({ code: 'custom', message: `'${s}' is not last, first, all or a version timestamp` });
  // The version as sent, not cut: the store casts it as it cast `modified` (PostgreSQL rounds
  // beyond microseconds), so a version with 7+ fractional digits selects itself.
  return { kind: 'at', at: at ? s : '' };
});

export const params = z.strictObject({
  added_after: timestamp.optional(),
  limit: z
    .string()
    .regex(/^\+?\d+$/, 'must be a positive integer')
    .transform((s) => Number(s))
    .pipe(z.number().int().positive('must be a positive integer'))
    .optional(),
  next: z.string().min(1).max(4096).optional(),
  'match[id]': list('match[id]', z.string().min(1).max(300)).optional(),
  'match[type]': list('match[type]', z.string().min(1).max(250)).optional(),
  'match[version]': z
    .string()
    .transform((s) => s.split(','))
    .pipe(z.array(versionItem).min(1))
    .optional(),
  'match[spec_version]': list('match[spec_version]', z.string().regex(/^\d+\.\d+$/, 'must be a version like 2.1')).optional(),
});

type Param = keyof typeof params.shape;

/**
 * Queries parsed so far, by endpoint: a SIEM sends the same one poll after poll until something
 * new arrives. Bounded: made-up queries start a table again rather than grow it. What is kept is
 * frozen, as every caller shares it.
 */
const parsedQueries = new WeakMap<readonly Param[], Map<string, PageRequest>>();
const PARSED_MAX = 1024;
const PARSED_KEY_MAX = 2048;

/** Parses the query for an endpoint that takes `allowed`; unknown parameters are ignored. */
export function parsePageQuery(url: string, allowed: readonly Param[], defaultLimit: number): PageRequest {
  // Without a fragment, the parse depends on the URL's text from its first `?` only.
  if (url.includes('#')) return parseQuery(url, allowed, defaultLimit);
  const at = url.indexOf('?');
  const key = `${defaultLimit}${at < 0 ? '' : url.slice(at)}`;
  let parsed = parsedQueries.get(allowed);
  if (!parsed) parsedQueries.set(allowed, (parsed = new Map()));
  let req = parsed.get(key);
  if (req) return req;
  req = frozen(parseQuery(url, allowed, defaultLimit));
  if (parsed.size >= PARSED_MAX) parsed.clear();
  if (key.length <= PARSED_KEY_MAX) parsed.set(key, req);
  return req;
}

function frozen(req: PageRequest): PageRequest {
  for (const list of Object.values(req.filters)) {
    if (!Array.isArray(list)) continue;
    for (const item of list) Object.freeze(item);
    Object.freeze(list);
  }
  Object.freeze(req.filters);
  return Object.freeze(req);
}

function parseQuery(url: string, allowed: readonly Param[], defaultLimit: number): PageRequest {
  const search = new URL(url).searchParams;
  const raw: Record<string, string> = {};
  for (const [key, value] of search) {
    if (!(allowed as readonly string[]).includes(key)) continue;
    if (key in raw) throw new VigilError('invalid-parameter', `${key}: given more than once; use a comma-separated list`);
    raw[key] = value;
  }
  const parsed = params.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new VigilError('invalid-parameter', `${issue.path.join('.')}: ${issue.message}`);
  }
  const q = parsed.data;
  const filters: QueryFilters = {
    after: q.added_after,
    ids: q['match[id]'],
    types: q['match[type]'],
    versions: q['match[version]'],
    specVersions: q['match[spec_version]'],
  };
  return { limit: q.limit ?? defaultLimit, next: q.next, filters };
}

export const OBJECTS_PARAMS = [
  'added_after',
  'limit',
  'next',
  'match[id]',
  'match[type]',
  'match[version]',
  'match[spec_version]',
] as const;
export const OBJECT_PARAMS = ['added_after', 'limit', 'next', 'match[version]', 'match[spec_version]'] as const;
export const VERSIONS_PARAMS = ['added_after', 'limit', 'next', 'match[spec_version]'] as const;
export const DELETE_PARAMS = ['match[version]', 'match[spec_version]'] as const;
