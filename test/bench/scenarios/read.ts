import { client } from '../load.ts';
import type { Target } from '../target.ts';
import { objectsPath } from './setup.ts';

/** Full read: one client paging through the whole collection, following `next`. */
export async function fullReadNode(
  t: Target,
  collectionId: string,
  limit: number,
): Promise<{ perSecond: number; objects: number; pages: number; peakRss: number }> {
  const c = client(t.url, 1);
  t.rss.reset();
  const t0 = performance.now();
  let next: string | undefined;
  let objects = 0;
  let pages = 0;
  do {
    const r = await c.request(`${objectsPath(collectionId)}?limit=${limit}${next ? `&next=${encodeURIComponent(next)}` : ''}`);
    if (r.status !== 200) throw new Error(`full read: ${r.status} ${r.text.slice(0, 300)}`);
    const page = JSON.parse(r.text) as { objects?: unknown[]; next?: string };
    objects += page.objects?.length ?? 0;
    pages += 1;
    next = page.next;
  } while (next);
  const seconds = (performance.now() - t0) / 1000;
  const peakRss = t.rss.peak();
  await c.close();
  return { perSecond: objects / seconds, objects, pages, peakRss };
}

/**
 * The same read straight from PostgreSQL: keyset SELECTs of the object text, `limit` rows a page.
 * Like the node's client, which must parse each page to follow `next`, it parses what it read
 * (the objects, as a consumer would): both sides do the same client work. `noParse` is the same
 * read without it.
 */
export async function fullReadRaw(
  t: Target,
  collectionId: string,
  limit: number,
): Promise<{ perSecond: number; objects: number; noParsePerSecond: number }> {
  const t0 = performance.now();
  let after = '-infinity';
  let objects = 0;
  let parsing = 0;
  for (;;) {
    const rows = await t.sql<{ at: string; json: string }>(
      `SELECT date_added::text AS at, object::text AS json FROM objects
       WHERE collection_id = $1 AND date_added > $2::timestamptz ORDER BY date_added LIMIT $3`,
      [collectionId, after, limit],
    );
    const p0 = performance.now();
    objects += (JSON.parse(`[${rows.map((r) => r.json).join(',')}]`) as unknown[]).length;
    parsing += performance.now() - p0;
    if (rows.length < limit) break;
    after = rows[rows.length - 1]!.at;
  }
  const ms = performance.now() - t0;
  return { perSecond: objects / (ms / 1000), objects, noParsePerSecond: objects / ((ms - parsing) / 1000) };
}
