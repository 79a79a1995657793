import type { TestNode } from './node.ts';
import { TAXII } from './node.ts';

export type CollectionRead = {
  /** Every object served, in date_added order, as the client parsed it. */
  objects: Record<string, unknown>[];
  /** The last date_added served (X-TAXII-Date-Added-Last of the last page with objects): a poller's cursor. */
  last: string | null;
};

/**
 * Reads a collection's objects as a SIEM polls it: page after page (following `next`), from
 * `addedAfter` when given, as `token` (the admin when undefined).
 */
export async function readCollection(
  node: TestNode,
  base: string,
  token?: string,
  addedAfter?: string,
  limit = 1000,
): Promise<CollectionRead> {
  const objects: Record<string, unknown>[] = [];
  let last: string | null = null;
  let next: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (addedAfter) query.set('added_after', addedAfter);
    if (next) query.set('next', next);
    const res = await node.request(`${base}/objects/?${query}`, { headers: { accept: TAXII }, ...(token === undefined ? {} : { token }) });
    if (res.status !== 200) throw new Error(`GET ${base}/objects/: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { more?: boolean; next?: string; objects?: Record<string, unknown>[] };
    objects.push(...(body.objects ?? []));
    last = res.headers.get('x-taxii-date-added-last') ?? last;
    if (!body.more) return { objects, last };
    next = body.next;
  }
  throw new Error('readCollection: more than 10,000 pages');
}
