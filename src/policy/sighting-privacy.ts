// The privacy rule of sighting aggregates (docs/sightings.md, "The rule"): what leaves the node
// rests on at least the minimum number of distinct organisations, unless every reporter in it
// allowed sharing. Pure: the aggregation job asks it which waiting reports to publish, and how.

/** A report not yet in any published aggregate. */
export type WaitingReport = { seq: string; org_key: string; shareable: boolean; hour_start: string; hour_closed: boolean };

/** May this set of reports be published as one delta? */
export function safeDelta(reports: readonly Pick<WaitingReport, 'org_key' | 'shareable'>[], minOrganisations: number): boolean {
  if (reports.length === 0) return false;
  return reports.every((r) => r.shareable) || new Set(reports.map((r) => r.org_key)).size >= minOrganisations;
}

export type Publication = {
  /** Reports that join their hour's aggregate, and so their day's. */
  intoHours: string[];
  /** The hours (bucket starts) that get a new version. */
  hours: string[];
  /** Reports of closed hours that join their day's aggregate only, and never an hour's. */
  intoDay: string[];
  /** When to look again at reports still waiting in an hour not yet over (its end); null: at the next report. */
  again: string | null;
};

const HOUR_MS = 3_600_000;

/**
 * Every published version is a union of deltas, each safe (safeDelta): an hour's waiting reports
 * when they are safe together; then, of what is left in hours already over, the rest of the day
 * when it is safe together, published in the day alone for good. The difference between two
 * versions of an aggregate, and a day minus its hours, are then unions of safe deltas too.
 */
export function planPublication(waiting: readonly WaitingReport[], minOrganisations: number): Publication {
  const byHour = new Map<string, WaitingReport[]>();
  for (const r of waiting) byHour.set(r.hour_start, [...(byHour.get(r.hour_start) ?? []), r]);
  const plan: Publication = { intoHours: [], hours: [], intoDay: [], again: null };
  const left: WaitingReport[] = [];
  for (const [hour, reports] of [...byHour].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (safeDelta(reports, minOrganisations)) {
      plan.hours.push(hour);
      plan.intoHours.push(...reports.map((r) => r.seq));
    } else left.push(...reports);
  }
  const closed = left.filter((r) => r.hour_closed);
  if (safeDelta(closed, minOrganisations)) plan.intoDay.push(...closed.map((r) => r.seq));
  const open = left.filter((r) => !r.hour_closed).map((r) => Date.parse(r.hour_start));
  if (open.length > 0) plan.again = new Date(Math.min(...open) + HOUR_MS).toISOString();
  return plan;
}
