import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { matchesOwnProperties, meetsTrend } from './alert-filter.ts';
import type { AlertFilter } from './alert-filter.ts';
import { BUCKET_MS, trendWindow } from './trend-windows.ts';
import { clientReader } from './trends.ts';
import { clientAudience } from '../policy/audience.ts';
import type { Clearance } from '../policy/levels.ts';
import { batchAggregates, markTrendFired, readableIndicator, trendFired } from '../store/alerts.ts';
import type { BatchAggregate, BatchVersion, MatchingSubscription, NewAlert, OutboxRow } from '../store/alerts.ts';
import { findCollection } from '../store/collections.ts';
import type { Schema } from '../store/schema.ts';
import { indicatorWindow } from '../store/trends.ts';

// Early warning on trends (docs/early-warning.md, "Trends"): a stored aggregate version makes the
// matcher count its indicator's window for each subscription with trend criteria, as GET /trends
// counts it for the subscriber, and fire once per (subscription, indicator, bucket).

export type TrendSubscriber = MatchingSubscription & { parsed: AlertFilter };

/** What a trend alert says of the indicator's window (the alert's `trend`). */
export type TrendAlert = {
  indicator: string;
  window: 'hour' | 'day';
  bucket: { start: string; end: string };
  organisations: number;
  sightings: number;
  previous: number;
  growth: number;
  nodes: number;
};

type Found = { collectionId: string; version: BatchVersion };

/** The indicator's latest version the subscriber may read in its subscription's collections, the aggregate's own first. */
async function findIndicator(
  tx: Transaction<Schema>,
  sub: TrendSubscriber,
  indicatorId: string,
  near: string,
  relax: Map<string, boolean>,
): Promise<Found | undefined> {
  const order = sub.readable.includes(near) ? [near, ...sub.readable.filter((c) => c !== near)] : sub.readable;
  for (const collectionId of order) {
    if (!relax.has(collectionId)) relax.set(collectionId, (await findCollection(tx, collectionId))?.relax_container_refs ?? false);
    const audience = clientAudience(sub.clearance as Clearance, sub.own_org, sub.red.includes(collectionId));
    const version = await readableIndicator(tx, collectionId, audience, relax.get(collectionId)!, indicatorId);
    if (version) return { collectionId, version };
  }
  return undefined;
}

async function fire(
  tx: Transaction<Schema>,
  row: OutboxRow,
  sub: TrendSubscriber,
  agg: BatchAggregate,
  relax: Map<string, boolean>,
): Promise<NewAlert | undefined> {
  const f = sub.parsed;
  const window = trendWindow(agg.bucket_size, agg.bucket_ms);
  if (await trendFired(tx, sub.id, agg.indicator_id, agg.bucket_size, window.current)) return undefined;
  const found = await findIndicator(tx, sub, agg.indicator_id, row.collection_id, relax);
  if (!found || !matchesOwnProperties(f, { ...found.version, pap: found.version.pap_level })) return undefined;
  const reader = clientReader(sub.client_id, sub.clearance as Clearance, sub.own_org);
  const figures = await indicatorWindow(tx, reader, agg.indicator_id, window, {
    collectionId: row.collection_id,
    first: row.first_added,
    last: row.last_added,
  });
  // Only an aggregate the subscriber may count fires: its arrival is no signal of one it may not read.
  if (!figures?.triggered || !meetsTrend(f, figures)) return undefined;
  if (!(await markTrendFired(tx, sub.id, agg.indicator_id, agg.bucket_size, window.current))) return undefined;
  const trend: TrendAlert = {
    indicator: agg.indicator_id,
    window: agg.bucket_size,
    bucket: { start: window.current, end: window.end },
    organisations: figures.organisations,
    sightings: figures.sightings,
    previous: figures.previous,
    growth: figures.growth,
    nodes: figures.nodes,
  };
  return {
    id: randomUUID(),
    subscriptionId: sub.id,
    collectionId: found.collectionId,
    refs: [found.version.date_added],
    storedAt: agg.stored_at,
    state: sub.webhook_url ? 'pending' : 'stream',
    trend,
  };
}

/**
 * The trend alerts a stored batch fires: for each aggregate bucket it stored, each subscription
 * whose window is that bucket's size. A bucket over for longer than the alerts' retention fires
 * no more (its fired marks are pruned with the alerts).
 */
export async function matchTrends(
  tx: Transaction<Schema>,
  row: OutboxRow,
  subs: TrendSubscriber[],
  now: number,
  retentionHours: number,
): Promise<NewAlert[]> {
  if (subs.length === 0) return [];
  const since = now - retentionHours * 3_600_000;
  const aggregates = (await batchAggregates(tx, row.collection_id, row.first_added, row.last_added)).filter(
    (a) => a.bucket_ms + BUCKET_MS[a.bucket_size] >= since,
  );
  const relax = new Map<string, boolean>();
  const alerts: NewAlert[] = [];
  for (const agg of aggregates)
    for (const sub of subs) {
      if ((sub.parsed.sighting_window ?? 'hour') !== agg.bucket_size) continue;
      const alert = await fire(tx, row, sub, agg, relax);
      if (alert) alerts.push(alert);
    }
  return alerts;
}
