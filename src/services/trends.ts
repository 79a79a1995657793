import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { clientAudience } from '../policy/audience.ts';
import { AMBER_STRICT, RED, levelOf } from '../policy/levels.ts';
import type { Clearance, Level } from '../policy/levels.ts';
import type { SeriesQuery, TrendsQuery } from '../sightings/schemas.ts';
import { indicatorSeries, rankTrends } from '../store/trends.ts';
import type { TrendRow, TrendWindow, TrendsReader } from '../store/trends.ts';
import { requireAuthenticated } from './access.ts';
import type { Principal } from './principal.ts';
import { seriesBuckets, trendWindow } from './trend-windows.ts';

// Trends (docs/sightings.md, "Trends"): what is sighted most, and what is rising, across every
// aggregate the caller may read (this node's and its peers'), each counted once.

/**
 * Who counts, under the TLP rules of TAXII reads: the admin everything, a client what its clearance
 * and RED namings allow; `tlp` lowers either to at most that level. Peers read aggregates over TAXII.
 */
function readerOf(who: Principal, tlpName: string | undefined): TrendsReader {
  requireAuthenticated(who);
  const tlp = tlpName === undefined ? undefined : levelOf(tlpName);
  if (who.kind === 'admin')
    return tlp === undefined
      ? { clientId: null, maxLevel: 'any', red: 'always' }
      : { clientId: null, maxLevel: Math.min(tlp, AMBER_STRICT) as Level, red: tlp === RED ? 'always' : 'never' };
  if (who.role !== 'client')
    throw new VigilError('forbidden', 'trends are read by clients and the admin; a peer pulls the aggregates over TAXII');
  const reader = clientReader(who.id, who.clearance, who.ownOrg);
  if (tlp === undefined) return reader;
  return { clientId: who.id, maxLevel: Math.min(reader.maxLevel as Level, tlp) as Level, red: tlp === RED ? 'named' : 'never' };
}

/** A client counts as it reads over TAXII: up to its clearance, RED where it is a named recipient (also an alert's subscriber). */
export function clientReader(clientId: string, clearance: Clearance, ownOrg: boolean): TrendsReader {
  const { maxLevel } = clientAudience(clearance, ownOrg, false) as { maxLevel: Level };
  return { clientId, maxLevel, red: 'named' };
}

export type Trends = { window: TrendWindow; sort: TrendsQuery['sort']; type: TrendsQuery['type']; items: TrendRow[] };

/** GET /trends: the ranking of the current window, by sightings or by growth against the previous one. */
export async function getTrends(deps: Deps, who: Principal, q: TrendsQuery, now = Date.now()): Promise<Trends> {
  const reader = readerOf(who, q.tlp);
  const window = trendWindow(q.window, now);
  const items = await rankTrends(deps.database.read(), reader, {
    window,
    type: q.type,
    label: q.label,
    rising: q.sort === 'rising',
    limit: q.limit,
  });
  return { window, sort: q.sort, type: q.type, items };
}

export type Series = {
  indicator: string;
  name: string | null;
  size: 'hour' | 'day';
  buckets: { start: string; sightings: number; nodes: number }[];
};

/** GET /trends/indicators/{id}: an indicator's sightings per bucket, a bucket with none at 0; 404 when the caller may not read it. */
export async function getIndicatorSeries(deps: Deps, who: Principal, id: string, q: SeriesQuery, now = Date.now()): Promise<Series> {
  const reader = readerOf(who, q.tlp);
  const span = seriesBuckets(q.window, now);
  const found = await indicatorSeries(deps.database.read(), reader, id, span.size, span.from, span.to);
  if (!found) throw new VigilError('not-found', 'no indicator you may read has this id');
  const byStart = new Map(found.buckets.map((b) => [b.start, b]));
  return {
    indicator: id,
    name: found.name,
    size: span.size,
    buckets: span.starts.map((start) => byStart.get(start) ?? { start, sightings: 0, nodes: 0 }),
  };
}
