import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Page } from '../services/read-objects.ts';
import { TAXII_MEDIA_TYPE } from './media.ts';

/** Every TAXII response, errors included, carries the TAXII media type (§1.6.8). */
export function taxiiText(c: Context, text: string, status: ContentfulStatusCode = 200, headers: Record<string, string> = {}): Response {
  return c.body(text, status, { 'Content-Type': TAXII_MEDIA_TYPE, ...headers });
}

export function taxiiJson(c: Context, value: unknown, status: ContentfulStatusCode = 200): Response {
  return taxiiText(c, JSON.stringify(value), status);
}

/** The X-TAXII-Date-Added-First/-Last headers (§5.3), only on a page that has items. */
function dateHeaders(page: Page<unknown>): Record<string, string> {
  return page.first && page.last ? { 'X-TAXII-Date-Added-First': page.first, 'X-TAXII-Date-Added-Last': page.last } : {};
}

/**
 * A paginated resource built as text: `items` are JSON texts (objects come straight from the
 * database, never parsed). An empty page is `{}`: TAXII lists are never empty.
 */
export function pageResponse(c: Context, page: Page<unknown>, listName: string, items: string[]): Response {
  if (items.length === 0) return taxiiText(c, '{}');
  const next = page.next ? `,"next":${JSON.stringify(page.next)}` : '';
  const extra = page.extra ? Object.entries(page.extra).map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`).join('') : '';
  return taxiiText(c, `{"more":${page.more}${next}${extra},"${listName}":[${items.join(',')}]}`, 200, dateHeaders(page));
}
