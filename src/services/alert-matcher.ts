import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { alertFilterSchema, cpeMatches, isTrendFilter, matchesOwnProperties } from './alert-filter.ts';
import type { AlertFilter } from './alert-filter.ts';
import { clientAudience } from '../policy/audience.ts';
import type { Clearance } from '../policy/levels.ts';
import {
  batchVersions,
  deleteOutbox,
  insertAlerts,
  matchingSubscriptions,
  readOutbox,
  softwareLinks,
  trendSubscriptions,
  tryMatcherLock,
  visibleVersions,
} from '../store/alerts.ts';
import type { MatchingSubscription, NewAlert, OutboxRow } from '../store/alerts.ts';
import { findCollection } from '../store/collections.ts';
import type { Database } from '../store/database.ts';
import type { Schema } from '../store/schema.ts';
import type { Log } from '../log.ts';
import { matchTrends } from './alert-trends.ts';

/** Outbox rows (stored batches, up to 500 versions each) turned into alerts per transaction. */
const OUTBOX_ROWS_PER_PASS = 20;
/** Versions per alert: a burst of a campaign's indicators arrives as several alerts, not one huge one. */
export const MAX_OBJECTS_PER_ALERT = 100;

type Subscriber = MatchingSubscription & { parsed: AlertFilter };

/** A matched version, or a vulnerability with the relationship and software that matched the watchlist: sent together or not at all. */
type Group = string[];

function inRange(row: OutboxRow, dateAdded: string): boolean {
  return dateAdded >= row.first_added && dateAdded <= row.last_added;
}

/** The groups of versions of one stored batch that a subscription matches, before the TLP check. */
function groupsFor(
  sub: Subscriber,
  versions: Awaited<ReturnType<typeof batchVersions>>,
  links: Awaited<ReturnType<typeof softwareLinks>>,
): Group[] {
  const f = sub.parsed;
  if (!f.cpe_prefixes) return versions.filter((v) => matchesOwnProperties(f, { ...v, pap: v.pap_level })).map((v) => [v.date_added]);
  const seen = new Set<string>();
  const groups: Group[] = [];
  for (const l of links) {
    if (!cpeMatches(f.cpe_prefixes, l.cpe) || !matchesOwnProperties(f, { ...l, pap: l.pap_level })) continue;
    const group = [l.date_added, l.relationship_added, l.software_added];
    const key = group.join(' ');
    if (seen.has(key)) continue;
    seen.add(key);
    groups.push(group);
  }
  return groups;
}

/** Groups packed into alerts of at most MAX_OBJECTS_PER_ALERT versions (a group is never split). */
function pack(groups: Group[]): string[][] {
  const alerts: string[][] = [];
  let current: string[] = [];
  for (const g of groups) {
    if (current.length > 0 && current.length + g.length > MAX_OBJECTS_PER_ALERT) {
      alerts.push(current);
      current = [];
    }
    for (const d of g) if (!current.includes(d)) current.push(d);
  }
  if (current.length > 0) alerts.push(current);
  return alerts;
}

async function matchBatch(tx: Transaction<Schema>, row: OutboxRow, subs: Subscriber[]): Promise<NewAlert[]> {
  const here = subs.filter((s) => s.readable.includes(row.collection_id));
  if (here.length === 0) return [];
  const collection = await findCollection(tx, row.collection_id);
  if (!collection) return [];
  const versions = await batchVersions(tx, row.collection_id, row.first_added, row.last_added);
  const links = here.some((s) => s.parsed.cpe_prefixes) ? await softwareLinks(tx, row.collection_id, row.first_added, row.last_added) : [];

  const matched = new Map<Subscriber, Group[]>();
  for (const sub of here) {
    const groups = groupsFor(sub, versions, links);
    if (groups.length > 0) matched.set(sub, groups);
  }
  // The TLP rules in SQL, once per distinct audience: subscribers with the same clearance see the same.
  const byAudience = new Map<string, { audience: ReturnType<typeof clientAudience>; subs: Subscriber[] }>();
  for (const sub of matched.keys()) {
    const audience = clientAudience(sub.clearance as Clearance, sub.own_org, sub.red.includes(row.collection_id));
    const key = JSON.stringify(audience);
    const entry = byAudience.get(key) ?? { audience, subs: [] };
    entry.subs.push(sub);
    byAudience.set(key, entry);
  }
  const alerts: NewAlert[] = [];
  for (const { audience, subs: group } of byAudience.values()) {
    const wanted = new Set(group.flatMap((s) => matched.get(s)!.flat()));
    const visible = await visibleVersions(tx, row.collection_id, audience, collection.relax_container_refs, [...wanted]);
    for (const sub of group) {
      const allowed = matched.get(sub)!.filter((g) => g.every((d) => visible.has(d)));
      for (const refs of pack(allowed)) {
        const stored = refs.filter((d) => inRange(row, d));
        alerts.push({
          id: randomUUID(),
          subscriptionId: sub.id,
          collectionId: row.collection_id,
          refs,
          // biome-ignore lint/complexity/useMathMinMax: timestamps are strings, which Math.min would turn into NaN
          storedAt: stored.length ? stored.reduce((a, b) => (a < b ? a : b)) : row.first_added,
          state: sub.webhook_url ? 'pending' : 'stream',
        });
      }
    }
  }
  return alerts;
}

/** Subscriptions with their filters parsed; one whose stored filter no longer parses is skipped, and said so. */
function parsedSubscriptions(rows: MatchingSubscription[], log: Log): Subscriber[] {
  const subs: Subscriber[] = [];
  for (const s of rows) {
    const parsed = alertFilterSchema.safeParse(s.filter);
    if (parsed.success) subs.push({ ...s, parsed: parsed.data });
    else log.error({ subscription: s.id }, 'alert subscription with an unreadable filter: skipped');
  }
  return subs;
}

/**
 * One pass of the matcher: reads stored batches from the outbox, writes their alerts and deletes
 * them, in one transaction, so every batch is matched exactly once even across crashes. Answers
 * how many alerts it made, or undefined when another replica holds the matcher lock.
 * `retentionHours`: trend criteria fire for no bucket over longer than that.
 */
export async function matchOutbox(
  database: Database,
  log: Log,
  retentionHours = 168,
  now = Date.now(),
): Promise<{ rows: number; alerts: number } | undefined> {
  return database.db.transaction().execute(async (tx) => {
    if (!(await tryMatcherLock(tx))) return undefined;
    const rows = await readOutbox(tx, OUTBOX_ROWS_PER_PASS);
    if (rows.length === 0) return { rows: 0, alerts: 0 };
    // A subscription with trend criteria fires on aggregates only, and on those of any collection its client reads.
    // One read by both queries is parsed (and, unreadable, logged) once.
    const byCollection = await matchingSubscriptions(tx, [...new Set(rows.map((r) => r.collection_id))]);
    const all = new Map([...byCollection, ...(await trendSubscriptions(tx))].map((s) => [s.id, s]));
    const parsed = new Map(parsedSubscriptions([...all.values()], log).map((s) => [s.id, s]));
    const subs = byCollection.flatMap((s) => parsed.get(s.id) ?? []).filter((s) => !isTrendFilter(s.parsed));
    const trendSubs = [...parsed.values()].filter((s) => isTrendFilter(s.parsed));
    const alerts: NewAlert[] = [];
    for (const row of rows) {
      alerts.push(...(await matchBatch(tx, row, subs)));
      alerts.push(...(await matchTrends(tx, row, trendSubs, now, retentionHours)));
    }
    await insertAlerts(tx, alerts);
    await deleteOutbox(
      tx,
      rows.map((r) => r.seq),
    );
    return { rows: rows.length, alerts: alerts.length };
  });
}
