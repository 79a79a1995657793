import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, COLON, COMMA, isSpace, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from './json-bytes.ts';

/** Where one element of a body's `objects` array lies in the body's bytes: [start, end). */
export type Span = { start: number; end: number };

/** Bytes walked between yields to the event loop: a 40 MB bundle is walked in slices, not in one stall. */
const SLICE_BYTES = 4 * 1024 * 1024;

/** The index of the quote that closes the string opened at `open`, or -1. */
function closingQuote(body: Buffer, open: number): number {
  for (let q = body.indexOf(QUOTE, open + 1); q >= 0; q = body.indexOf(QUOTE, q + 1)) {
    let k = q - 1;
    while (body[k] === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q;
  }
  return -1;
}

const OBJECTS = Buffer.from('"objects"');

/** Whether the key token at [start, end) (quotes included) is `objects`, escapes and all. */
function isObjectsKey(body: Buffer, start: number, end: number): boolean {
  if (body.compare(OBJECTS, 0, OBJECTS.length, start, end) === 0) return true;
  if (!body.subarray(start, end).includes(BACKSLASH)) return false;
  try {
    return JSON.parse(body.toString('utf8', start, end)) === 'objects';
  } catch {
    return false;
  }
}

/** The end of an element whose value ended before `at` (a comma or a closing bracket): trailing spaces left out. */
function trimmedEnd(body: Buffer, at: number): number {
  let end = at;
  while (end > 0 && isSpace(body[end - 1]!)) end--;
  return end;
}

/**
 * The byte spans of the elements of a JSON body's top-level `objects` array (a STIX bundle's or a
 * TAXII envelope's), found by walking its structure without parsing it, so each element can be
 * parsed on its own. Where the body has `objects` twice, the last counts, as for JSON.parse and
 * PostgreSQL's jsonb. Undefined when the body is not an object whose `objects` is an array.
 *
 * The walk checks no syntax: it is meant for a body that a parser checks as well (PostgreSQL,
 * when it records a request). On a body that is not JSON it answers undefined or spans that
 * parse as nothing sensible; it never throws, and it reads each byte once.
 */
export async function objectSpans(body: Buffer): Promise<Span[] | undefined> {
  let depth = 0;
  let spans: Span[] | undefined;
  /** The `objects` array being walked (depth 2), and where its current element started (-1: none yet). */
  let collecting: Span[] | undefined;
  let elementStart = -1;
  /** At depth 1: the next string is a member's name; `objectsValue`: the member named is `objects`, its value not begun. */
  let expectKey = false;
  let objectsValue = false;
  let nextYield = SLICE_BYTES;
  /** A value begins at `i`: the start of an element of `objects`, or the value of the member `objects`. */
  const valueAt = (i: number, c: number) => {
    if (depth === 2 && collecting && elementStart < 0) elementStart = i;
    if (depth === 1 && objectsValue) {
      objectsValue = false;
      if (c === OPEN_ARRAY) collecting = [];
      else spans = undefined;
    }
  };
  for (let i = 0; i < body.length; i++) {
    if (i >= nextYield) {
      nextYield = i + SLICE_BYTES;
      await yieldToEventLoop();
    }
    const c = body[i]!;
    if (isSpace(c) || c === COLON) continue;
    if (depth === 0 && c !== OPEN_OBJECT) return undefined;
    switch (c) {
      case QUOTE: {
        const end = closingQuote(body, i);
        if (end < 0) return undefined;
        if (depth === 1 && expectKey) {
          expectKey = false;
          objectsValue = isObjectsKey(body, i, end + 1);
        } else valueAt(i, c);
        i = end;
        break;
      }
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        valueAt(i, c);
        depth++;
        if (depth === 1) expectKey = true;
        break;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        if (depth === 2 && collecting) {
          if (elementStart >= 0) collecting.push({ start: elementStart, end: trimmedEnd(body, i) });
          spans = collecting;
          collecting = undefined;
          elementStart = -1;
        }
        depth--;
        if (depth === 0) return spans;
        break;
      case COMMA:
        if (depth === 1) expectKey = true;
        else if (depth === 2 && collecting && elementStart >= 0) {
          collecting.push({ start: elementStart, end: trimmedEnd(body, i) });
          elementStart = -1;
        }
        break;
      default:
        // A number or a literal.
        valueAt(i, c);
    }
  }
  return undefined;
}
