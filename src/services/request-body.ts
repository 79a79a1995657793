import { VigilError } from '../errors.ts';
import { objectSpans } from '../stix/object-spans.ts';
import type { ParsedBody } from '../store/statuses.ts';

/**
 * The largest request body the node parses itself, rather than PostgreSQL: a request of up to
 * SYNC_INGEST_MAX_OBJECTS objects, as most are, is a megabyte or two. What lies around its
 * objects is parsed here in one go, which must stay short; PostgreSQL parses larger bodies.
 */
export const PARSED_HERE_MAX_BYTES = 8 * 1024 * 1024;

/** A JSON value's type, as PostgreSQL's jsonb_typeof names it. */
function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

const BACKSLASH_U = Buffer.from('\\u');

/**
 * Whether the body holds an escape that JSON.parse and PostgreSQL's jsonb read differently:
 * `\u0000` (jsonb refuses the NUL character) or any of a surrogate (jsonb refuses one unpaired).
 * Only an escape can put either in valid UTF-8 JSON. An escaped backslash followed by such text
 * counts too: the body then goes to PostgreSQL, as larger ones do.
 */
function holdsJsonbEscapes(body: Buffer): boolean {
  for (let at = body.indexOf(BACKSLASH_U); at >= 0; at = body.indexOf(BACKSLASH_U, at + 2)) {
    const hex = body.toString('latin1', at + 2, at + 6).toLowerCase();
    if (hex === '0000' || (hex.length === 4 && hex[0] === 'd' && '89abcdef'.includes(hex[1]!))) return true;
  }
  return false;
}

/**
 * A request body's shape and its objects' text, as parseRequestObjects (PostgreSQL) answers them
 * for a request stored inline, found here without a round trip: the body's structure is walked
 * (object-spans.ts), and what lies around its objects is parsed as JSON with each object in it
 * standing as `0`. Each object's text is as sent, and is parsed by the caller (prepare-objects.ts,
 * which refuses the request if one is not JSON) and by PostgreSQL as it stores it. A body that is
 * not JSON is refused as PostgreSQL's parse refuses it; undefined for one that PostgreSQL must
 * parse (holdsJsonbEscapes).
 */
export async function parseBodyHere(body: Buffer): Promise<ParsedBody | undefined> {
  if (holdsJsonbEscapes(body)) return undefined;
  const spans = await objectSpans(body);
  let skeleton = '';
  if (spans) {
    let at = 0;
    for (const span of spans) {
      skeleton += `${body.toString('utf8', at, span.start)}0`;
      at = span.end;
    }
    skeleton += body.toString('utf8', at);
  } else skeleton = body.toString('utf8');
  let top: unknown;
  try {
    top = JSON.parse(skeleton);
  } catch (err) {
    throw new VigilError('invalid-json', `the body is not valid JSON: ${(err as Error).message}`);
  }
  const record = jsonType(top) === 'object' ? (top as Record<string, unknown>) : undefined;
  const objects = record?.objects;
  if (Array.isArray(objects) && spans?.length !== objects.length) throw new Error('the walk of a body that parses missed its objects');
  return {
    type: jsonType(top),
    bundleType: record?.type === undefined ? null : typeof record.type === 'string' ? record.type : JSON.stringify(record.type),
    objectsType: record === undefined || !Object.hasOwn(record, 'objects') ? null : jsonType(objects),
    count: Array.isArray(objects) ? objects.length : 0,
    objects: Array.isArray(objects) && spans ? spans.map((s, seq) => ({ seq, json: body.toString('utf8', s.start, s.end) })) : [],
  };
}
