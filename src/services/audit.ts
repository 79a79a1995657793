import type { Deps } from '../deps.ts';
import { AMBER } from '../policy/levels.ts';
import { insertDelivery } from '../store/deliveries.ts';
import type { ObjectRow } from '../store/objects.ts';
import type { Principal } from './auth.ts';
import { levelName } from '../metrics/metrics.ts';

/** The metrics' count of objects served, by collection and level. */
function countServed(deps: Deps, collectionId: string, items: ObjectRow[]): void {
  const byLevel = new Map<number, number>();
  for (const r of items) byLevel.set(r.level, (byLevel.get(r.level) ?? 0) + 1);
  for (const [level, n] of byLevel) deps.metrics.objectsServed.inc({ collection: collectionId, level: levelName(level) }, n);
}

/** How a recipient is named in the audit: stable, never a secret. */
export function recipientName(who: Principal): string {
  if (who.kind === 'admin') return 'admin';
  if (who.kind === 'anonymous') return 'anonymous';
  return `${who.role}:${who.id}`;
}

/**
 * A page that serves AMBER, AMBER+STRICT or RED content is recorded (recipient, collection, the
 * page's first and last date_added, count): one small insert, and only for such pages.
 */
export async function recordDelivery(deps: Deps, who: Principal, collectionId: string, page: { items: ObjectRow[]; first?: string; last?: string }): Promise<void> {
  countServed(deps, collectionId, page.items);
  const maxLevel = page.items.reduce((m, r) => Math.max(m, r.level), -1);
  if (maxLevel < AMBER || !page.first || !page.last) return;
  await insertDelivery(deps.database.db, {
    recipient: recipientName(who),
    collection_id: collectionId,
    first_date_added: page.first,
    last_date_added: page.last,
    object_count: page.items.length,
    max_level: maxLevel,
  });
}
