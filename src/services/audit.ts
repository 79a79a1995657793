import type { Deps } from '../deps.ts';
import { AMBER } from '../policy/levels.ts';
import { insertDelivery } from '../store/deliveries.ts';
import type { ObjectRow } from '../store/objects.ts';
import type { Principal } from './auth.ts';
import { levelName } from '../metrics/metrics.ts';

/** What a page served: how many objects, how many at each TLP level, and its first and last date_added. */
export type ServedSummary = { count: number; levels: Map<number, number>; first?: string | undefined; last?: string | undefined };

export function servedSummary(page: { items: ObjectRow[]; first?: string; last?: string }): ServedSummary {
  const levels = new Map<number, number>();
  for (const r of page.items) levels.set(r.level, (levels.get(r.level) ?? 0) + 1);
  return { count: page.items.length, levels, first: page.first, last: page.last };
}

/** How a recipient is named in the audit: stable, never a secret. */
export function recipientName(who: Principal): string {
  if (who.kind === 'admin') return 'admin';
  if (who.kind === 'anonymous') return 'anonymous';
  return `${who.role}:${who.id}`;
}

/**
 * A page that serves AMBER, AMBER+STRICT or RED content is recorded (recipient, collection, the
 * page's first and last date_added, count): one small insert, and only for such pages. Every
 * page counts in the metrics of objects served, by collection and level.
 */
export async function recordDelivery(deps: Deps, who: Principal, collectionId: string, served: ServedSummary): Promise<void> {
  countServed(deps, collectionId, served.levels);
  const maxLevel = Math.max(-1, ...served.levels.keys());
  if (maxLevel < AMBER || !served.first || !served.last) return;
  await insertDelivery(deps.database.db, {
    recipient: recipientName(who),
    collection_id: collectionId,
    first_date_added: served.first,
    last_date_added: served.last,
    object_count: served.count,
    max_level: maxLevel,
  });
}

/** The metrics of objects served, by collection and level. */
export function countServed(deps: Deps, collectionId: string, levels: Map<number, number>): void {
  for (const [level, n] of levels) deps.metrics.objectsServed.inc({ collection: collectionId, level: levelName(level) }, n);
}

/**
 * Where the page's own statement can record it: reads on the primary (no read replicas), so the
 * audit row commits with the read, in its round trip. A read on a standby is recorded after it
 * (recordDelivery), on the primary.
 */
export function auditInRead(deps: Deps, who: Principal): { recipient: string } | undefined {
  return deps.database.replicas.length === 0 ? { recipient: recipientName(who) } : undefined;
}
