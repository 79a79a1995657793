import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ObjectsPage, Page } from '../services/read-objects.ts';
import { TAXII_MEDIA_TYPE } from './media.ts';

/** Every TAXII response, errors included, carries the TAXII media type (§1.6.8). */
export function taxiiText(c: Context, text: string, status: ContentfulStatusCode = 200, headers: Record<string, string> = {}): Response {
  return c.body(text, status, { 'Content-Type': TAXII_MEDIA_TYPE, ...headers });
}

export function taxiiJson(c: Context, value: unknown, status: ContentfulStatusCode = 200): Response {
  return taxiiText(c, JSON.stringify(value), status);
}

/** The X-TAXII-Date-Added-First/-Last headers (§5.3), only on a page that has items. */
function dateHeaders(page: { first?: string | undefined; last?: string | undefined }): Record<string, string> {
  return page.first && page.last ? { 'X-TAXII-Date-Added-First': page.first, 'X-TAXII-Date-Added-Last': page.last } : {};
}

type PageHead = { more: boolean; next?: string | undefined; first?: string | undefined; last?: string | undefined };

/** An envelope's opening: `{"more":…` and `"next"` where there is one. */
function envelopeHead(page: PageHead): string {
  return `{"more":${page.more}${page.next ? `,"next":${JSON.stringify(page.next)}` : ''}`;
}

/** An envelope around `list`, the comma-joined JSON texts of `count` items; `extra` is more properties, as JSON text. */
function envelope(c: Context, page: PageHead, listName: string, count: number, list: string, extra = ''): Response {
  if (count === 0) return taxiiText(c, '{}');
  return taxiiText(c, `${envelopeHead(page)}${extra},"${listName}":[${list}]}`, 200, dateHeaders(page));
}

/**
 * A paginated resource built as text: `items` are JSON texts (objects come straight from the
 * database, never parsed). An empty page is `{}`: TAXII lists are never empty.
 */
export function pageResponse(c: Context, page: Page<unknown>, listName: string, items: string[]): Response {
  const extra = page.extra
    ? Object.entries(page.extra)
        .map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`)
        .join('')
    : '';
  return envelope(c, page, listName, items.length, items.join(','), extra);
}

const utf8 = new TextEncoder();

/**
 * The parts' UTF-8 bytes in one buffer, each part written where it goes: joining the strings
 * first would make one string of the whole page, which V8 keeps in its large-object space
 * until a full collection. Pages are mostly ASCII, a byte a character: the buffer is sized from
 * the characters with some room, and the parts are measured first only when they do not fit.
 */
function concatUtf8(parts: string[]): Uint8Array<ArrayBuffer> {
  let chars = 0;
  for (const part of parts) chars += part.length;
  const bytes = Buffer.allocUnsafe(chars + (chars >> 4));
  let at = 0;
  for (const part of parts) {
    const { read, written } = utf8.encodeInto(part, bytes.subarray(at));
    if (read < part.length) return measuredUtf8(parts);
    at += written;
  }
  return bytes.subarray(0, at) as Uint8Array<ArrayBuffer>;
}

function measuredUtf8(parts: string[]): Uint8Array<ArrayBuffer> {
  let size = 0;
  for (const part of parts) size += Buffer.byteLength(part);
  const bytes = Buffer.allocUnsafe(size);
  let at = 0;
  for (const part of parts) at += bytes.write(part, at);
  return bytes as Uint8Array<ArrayBuffer>;
}

/** `chunks` with a comma between each two, after `parts`. */
function pushJoined(parts: string[], chunks: string[]): void {
  for (const [i, chunk] of chunks.entries()) {
    if (i > 0) parts.push(',');
    parts.push(chunk);
  }
}

/**
 * The bytes a response was made from, where this module made them from bytes: a peer's answer is
 * signed over them (routes.ts) without reading the body back, which turned the response into a
 * stream and copied a page of up to 1,000 objects three times.
 */
const madeFrom = new WeakMap<Response, Uint8Array>();

/** The bytes `res` was made from, if it is a response this module made from bytes. */
export function bodyBytes(res: Response): Uint8Array | undefined {
  return madeFrom.get(res);
}

/**
 * An objects page whose objects (and, for peers, origin records) PostgreSQL joined already, in
 * chunks. `asBytes`: the answer is signed over its bytes (a peer's signed pull), so it is made
 * as one buffer that the signature reads (bodyBytes).
 *
 * Otherwise the chunks go to the socket as they are, strings written one after the other (the
 * Node adapter writes a body stream's chunks to the socket, which encodes strings itself). A
 * page-sized buffer per answer made V8 run a full collection every dozen 1,000-object pages, for
 * the buffers' memory outside its heap: half of the node's CPU on a full read.
 */
export function objectsPageResponse(c: Context, page: ObjectsPage, asBytes = false): Response {
  if (page.count === 0) return taxiiText(c, '{}');
  const parts = [envelopeHead(page)];
  if (page.origins) {
    parts.push(',"x_vigil_origins":[');
    pushJoined(parts, page.origins);
    parts.push(']');
  }
  parts.push(',"objects":[');
  pushJoined(parts, page.objects);
  parts.push(']}');
  const headers = { 'Content-Type': TAXII_MEDIA_TYPE, ...dateHeaders(page) };
  if (asBytes) {
    const bytes = concatUtf8(parts);
    const res = c.body(bytes, 200, headers);
    madeFrom.set(res, bytes);
    return res;
  }
  let length = 0;
  for (const part of parts) length += Buffer.byteLength(part);
  const body = new ReadableStream<string>({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
  return c.body(body as unknown as ReadableStream<Uint8Array>, 200, { ...headers, 'Content-Length': String(length) });
}
