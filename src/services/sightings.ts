import type { Transaction } from 'kysely';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { clientAudience } from '../policy/audience.ts';
import type { Clearance, Level } from '../policy/levels.ts';
import { FEED_KINDS, feedValue } from '../stix/feed-values.ts';
import { compareTimestamps } from '../stix/timestamp.ts';
import { MAX_REPORT_COUNT } from '../sightings/schemas.ts';
import type { ReportSightingBody } from '../sightings/schemas.ts';
import { findClientPolicy } from '../store/clients.ts';
import type { Db } from '../store/database.ts';
import type { Schema } from '../store/schema.ts';
import { insertReports, listReports, readableIndicators } from '../store/sightings.ts';
import type { NewReport, ReadableIndicator, ReportRow } from '../store/sightings.ts';
import type { DetailRow } from '../store/statuses.ts';
import { requireAuthenticated } from './access.ts';
import type { Candidate } from './ingest-policy.ts';
import type { Principal } from './principal.ts';

// Sighting reports (docs/sightings.md): three ways in (POST /sightings, a STIX sighting POSTed over
// TAXII, `vigil sighting report`), one record. The reporter is kept, never served but to the admin
// and its own organisation; what leaves the node is an aggregate (sighting-aggregation.ts).

/** How far ahead of the node's clock a reported time may be: clocks of SIEMs drift. */
export const FUTURE_SKEW_MS = 5 * 60_000;

/** Sightings one TAXII request may report; more fail, object by object. */
export const MAX_TAXII_REPORTS = 1000;

/** A client as a report names it: who, for which organisation, and which indicators it may read. */
type Reporter = { clientId: string; organisation: string | null; orgKey: string; maxLevel: Level };

/** What the privacy rule counts: a named organisation, or the client alone. */
export const orgKey = (clientId: string, organisation: string | null): string =>
  organisation === null ? `client:${clientId}` : `org:${organisation}`;

async function reporterOf(db: Db, clientId: string): Promise<Reporter | undefined> {
  const policy = await findClientPolicy(db, clientId).catch(() => undefined);
  if (policy?.kind !== 'client') return undefined;
  const { maxLevel } = clientAudience(policy.clearance as Clearance, policy.own_org, false) as { maxLevel: Level };
  return { clientId, organisation: policy.organisation, orgKey: orgKey(clientId, policy.organisation), maxLevel };
}

/** Milliseconds since the epoch of a valid STIX timestamp (a leap second as the end of its minute). */
function millis(t: string): number {
  return Date.parse(t.replace(/:60(\.\d*)?Z$/, ':59.999Z'));
}

/** first_seen and last_seen as recorded: either stands for the other, both default to now; a message when they cannot be. */
function seenTimes(first: string | undefined, last: string | undefined, now: number): { first: string; last: string } | string {
  const at = new Date(now).toISOString();
  const f = first ?? last ?? at;
  const l = last ?? first ?? at;
  if (compareTimestamps(f, l) > 0) return 'last_seen: must not be earlier than first_seen';
  if (millis(l) > now + FUTURE_SKEW_MS) return `last_seen: must not be later than the node's clock (${at}) by more than 5 minutes`;
  return { first: f, last: l };
}

/** The observable values a reported value may be, normalised as feed_values holds them. */
function candidateValues(raw: string): { kind: string; value: string }[] {
  return FEED_KINDS.flatMap((kind) => {
    const value = feedValue(kind, raw.trim());
    return value === undefined ? [] : [{ kind, value }];
  });
}

const clientsOnly = () =>
  new VigilError('forbidden', 'sightings are reported by clients, whose organisation they count for: the admin token has none');

/** One element of POST /sightings as the service takes it: a report checked by its schema, or why it is not one. */
export type ReportInput = ReportSightingBody | { invalid: string };

/** What became of one report of a batch: the sightings recorded, or why none was. */
export type ReportOutcome =
  | { index: number; outcome: 'success'; reported: ReportRow[]; message: string }
  | { index: number; outcome: 'failure'; error_code: 'bad-request' | 'not-found'; message: string };

/** A report whose input holds, and what it is looked up by. */
type Wanted = {
  index: number;
  body: ReportSightingBody;
  times: { first: string; last: string };
  values: { kind: string; value: string }[] | undefined;
};

const valueKey = (kind: string | null, value: string | null) => `${kind}\u0000${value}`;

/**
 * The indicators each report matches among those the reporter may read, in indicator id order,
 * each once (in the first collection by id where it may be read): one lookup per collection asked
 * for and per way of naming (ids, values), however many reports the batch holds.
 */
async function matchesOf(db: Db, reporter: Reporter, wanted: Wanted[]): Promise<Map<number, ReadableIndicator[]>> {
  const groups = new Map<string, Wanted[]>();
  for (const w of wanted) {
    const key = `${w.values ? 'values' : 'ids'} ${w.body.collection ?? ''}`;
    const group = groups.get(key);
    if (group) group.push(w);
    else groups.set(key, [w]);
  }
  const matches = new Map<number, ReadableIndicator[]>();
  for (const group of groups.values()) {
    const collection = group[0]!.body.collection;
    if (!group[0]!.values) {
      const found = await readableIndicators(db, reporter, { ids: [...new Set(group.map((w) => w.body.indicator!))] }, collection);
      const byId = new Map(found.map((f) => [f.indicator_id, f]));
      for (const w of group) matches.set(w.index, byId.has(w.body.indicator!) ? [byId.get(w.body.indicator!)!] : []);
      continue;
    }
    const found = await readableIndicators(db, reporter, { values: group.flatMap((w) => w.values!) }, collection);
    const byValue = new Map<string, ReadableIndicator[]>();
    for (const f of found) {
      const key = valueKey(f.kind, f.value);
      const same = byValue.get(key);
      if (same) same.push(f);
      else byValue.set(key, [f]);
    }
    for (const w of group) {
      const first = new Map<string, ReadableIndicator>();
      for (const f of w.values!.flatMap((v) => byValue.get(valueKey(v.kind, v.value)) ?? []))
        if (!first.has(f.indicator_id) || f.collection_id < first.get(f.indicator_id)!.collection_id) first.set(f.indicator_id, f);
      matches.set(
        w.index,
        [...first.values()].sort((a, b) => (a.indicator_id < b.indicator_id ? -1 : 1)),
      );
    }
  }
  return matches;
}

/**
 * POST /sightings, one report or a batch: each records one sighting per indicator its value (or
 * id) matches among those the caller may read, or fails alone, saying why. All that succeed are
 * recorded in one statement.
 */
export async function reportSightings(deps: Deps, who: Principal, inputs: ReportInput[]): Promise<ReportOutcome[]> {
  requireAuthenticated(who);
  if (who.kind !== 'client' || who.role !== 'client') throw clientsOnly();
  const db = deps.database.db;
  const reporter = await reporterOf(db, who.id);
  if (!reporter) throw new VigilError('unauthorized', 'this client no longer exists');
  const now = Date.now();
  const outcomes: ReportOutcome[] = [];
  const fail = (index: number, error_code: 'bad-request' | 'not-found', message: string) =>
    outcomes.push({ index, outcome: 'failure', error_code, message });
  const wanted: Wanted[] = [];
  for (const [index, input] of inputs.entries()) {
    if ('invalid' in input) {
      fail(index, 'bad-request', input.invalid);
      continue;
    }
    const times = seenTimes(input.first_seen, input.last_seen, now);
    if (typeof times === 'string') {
      fail(index, 'bad-request', times);
      continue;
    }
    const values = input.indicator === undefined ? candidateValues(input.value!) : undefined;
    if (values?.length === 0) fail(index, 'bad-request', 'value: not an IP address or network, domain name, URL, SHA-256 or MD5 hash');
    else wanted.push({ index, body: input, times, values });
  }
  const matches = await matchesOf(db, reporter, wanted);
  const recorded: { index: number; reports: NewReport[] }[] = [];
  for (const w of wanted) {
    const found = matches.get(w.index)!;
    // The same answer whether nothing matches or only what the caller may not read: nothing is revealed.
    if (found.length === 0)
      fail(w.index, 'not-found', `no indicator you may read ${w.body.indicator !== undefined ? 'has this id' : 'matches this value'}`);
    else
      recorded.push({
        index: w.index,
        reports: found.map((f) => newReport(reporter, f, { count: w.body.count, ...w.times, shareable: w.body.shareable }, 'api')),
      });
  }
  const rows = await insertReports(
    db,
    recorded.flatMap((r) => r.reports),
  );
  if (rows.length > 0) deps.sightings.kick();
  let at = 0;
  for (const r of recorded) {
    const reported = rows.slice(at, (at += r.reports.length));
    const message =
      reported.length === 1
        ? `recorded a sighting of ${reported[0]!.indicator_id}`
        : `the value matched ${reported.length} indicators: a sighting is recorded for each`;
    outcomes.push({ index: r.index, outcome: 'success', reported, message });
  }
  return outcomes.sort((a, b) => a.index - b.index);
}

/** POST /sightings with one report: its sightings, or its failure as the request's error. */
export async function reportSighting(
  deps: Deps,
  who: Principal,
  body: ReportSightingBody,
): Promise<{ reported: ReportRow[]; message: string }> {
  const [outcome] = await reportSightings(deps, who, [body]);
  if (outcome!.outcome === 'failure') throw new VigilError(outcome!.error_code, outcome!.message);
  return { reported: outcome!.reported, message: outcome!.message };
}

function newReport(
  r: Reporter,
  found: { indicator_id: string; collection_id: string },
  what: { count: number; first: string; last: string; shareable: boolean },
  via: 'api' | 'taxii',
): NewReport {
  return {
    client_id: r.clientId,
    organisation: r.organisation,
    org_key: r.orgKey,
    indicator_id: found.indicator_id,
    collection_id: found.collection_id,
    count: what.count,
    first_seen: what.first,
    last_seen: what.last,
    shareable: what.shareable,
    via,
  };
}

/** GET /sightings: the admin reads every report; a client, those of its own organisation. */
export async function listSightings(deps: Deps, who: Principal, limit: number): Promise<ReportRow[]> {
  requireAuthenticated(who);
  const db = deps.database.read();
  if (who.kind === 'admin') return listReports(db, null, limit);
  if (who.role !== 'client') throw clientsOnly();
  const reporter = await reporterOf(db, who.id);
  if (!reporter) throw new VigilError('unauthorized', 'this client no longer exists');
  return listReports(db, reporter.orgKey, limit);
}

/** The report a STIX sighting makes, or why it cannot be one. */
function taxiiReport(
  c: Candidate,
  now: number,
): { indicator: string; count: number; first: string; last: string; shareable: boolean } | string {
  const o = c.object;
  const of = typeof o.sighting_of_ref === 'string' ? o.sighting_of_ref : '';
  if (!of.startsWith('indicator--')) return 'sighting_of_ref: a sighting is taken in as a report of an indicator; this one names none';
  const count = o.count === undefined ? 1 : (o.count as number);
  if (count < 1 || count > MAX_REPORT_COUNT) return `count: a sighting report counts 1 to ${MAX_REPORT_COUNT}`;
  const times = seenTimes(o.first_seen as string | undefined, o.last_seen as string | undefined, now);
  if (typeof times === 'string') return times;
  return { indicator: of, count, ...times, shareable: o.x_vigil_shareable === true };
}

/**
 * A client's STIX sightings POSTed over TAXII, taken in as reports, never stored as objects: each
 * names who was targeted (created_by_ref, where_sighted_refs). Run in the request's transaction,
 * after its other objects are stored (a sighting may name an indicator of the same request).
 * Each is a success saying so, or a failure saying why; `reported`: how many were recorded.
 */
export async function takeSightingReports(
  tx: Transaction<Schema>,
  clientId: string,
  collectionId: string,
  sightings: Candidate[],
): Promise<{ details: DetailRow[]; reported: number }> {
  const reporter = await reporterOf(tx, clientId);
  const now = Date.now();
  const details: DetailRow[] = [];
  const wanted = new Map<number, ReturnType<typeof taxiiReport>>();
  for (const [i, c] of sightings.entries())
    wanted.set(c.seq, i < MAX_TAXII_REPORTS ? taxiiReport(c, now) : `more than ${MAX_TAXII_REPORTS} sightings in one request`);
  const ids = [...wanted.values()].flatMap((w) => (typeof w === 'string' ? [] : [w.indicator]));
  const readable = reporter && ids.length > 0 ? await readableIndicators(tx, reporter, { ids }, collectionId) : [];
  const found = new Map(readable.map((r) => [r.indicator_id, r]));
  const reports: NewReport[] = [];
  for (const c of sightings) {
    const w = wanted.get(c.seq)!;
    const fail = (message: string) =>
      details.push({ seq: c.seq, outcome: 'failure', object_id: c.meta.id, version: c.meta.version, message });
    if (typeof w === 'string') fail(w);
    else if (!reporter) fail('sightings are reported by clients, whose organisation they count for');
    else if (!found.has(w.indicator)) fail('sighting_of_ref: no indicator you may read in this collection has this id');
    else {
      reports.push(newReport(reporter, found.get(w.indicator)!, w, 'taxii'));
      details.push({
        seq: c.seq,
        outcome: 'success',
        object_id: c.meta.id,
        version: c.meta.version,
        message: `taken in as a sighting report of ${w.indicator}, not stored as an object: the node publishes aggregates of reports (docs/sightings.md)`,
      });
    }
  }
  await insertReports(tx, reports);
  return { details, reported: reports.length };
}
