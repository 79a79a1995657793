import { sql } from 'kysely';
import type { Transaction } from 'kysely';
import type { Audience } from '../policy/audience.ts';
import type { Db } from './database.ts';
import type { Schema } from './schema.ts';
import { taxiiTime, taxiiTimeOf } from './timestamps.ts';
import { levelVisible, referencesVisible } from './visibility.ts';

// Storage of the early-warning service: subscriptions, the outbox, alerts and their delivery.

export type AlertSubscriptionRow = {
  id: string;
  client_id: string;
  name: string;
  collection_ids: string[];
  filter: unknown;
  webhook_url: string | null;
  payload: 'objects' | 'ids';
  active: boolean;
  created: string;
  modified: string;
};

const subscriptionColumns = sql`s.id, s.client_id, s.name, s.collection_ids, s.filter, s.webhook_url, s.payload, s.active,
  ${taxiiTime('s.created')} AS created, ${taxiiTime('s.modified')} AS modified`;

export type NewAlertSubscription = Pick<
  AlertSubscriptionRow,
  'id' | 'client_id' | 'name' | 'collection_ids' | 'filter' | 'webhook_url' | 'payload' | 'active'
>;

/** A uuid[] parameter that pg and PGlite both pass the same way: as JSON text. */
const uuidArray = (ids: readonly string[]) => sql`ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid)`;
const timeArray = (times: readonly string[]) => sql`ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(times)}::jsonb)::timestamptz)`;

export async function insertAlertSubscription(db: Db, s: NewAlertSubscription): Promise<void> {
  await sql`INSERT INTO alert_subscriptions (id, client_id, name, collection_ids, filter, webhook_url, payload, active)
    VALUES (${s.id}, ${s.client_id}, ${s.name}, ${uuidArray(s.collection_ids)}, ${JSON.stringify(s.filter)}::jsonb,
            ${s.webhook_url}, ${s.payload}, ${s.active})`.execute(db);
}

export async function updateAlertSubscription(db: Db, s: NewAlertSubscription): Promise<void> {
  // A changed filter is a new question: its trend criteria may fire again in buckets they fired in.
  await sql`DELETE FROM alert_trend_fired WHERE subscription_id = ${s.id}
    AND (SELECT filter FROM alert_subscriptions WHERE id = ${s.id}) IS DISTINCT FROM ${JSON.stringify(s.filter)}::jsonb`.execute(db);
  await sql`UPDATE alert_subscriptions SET name = ${s.name}, collection_ids = ${uuidArray(s.collection_ids)},
      filter = ${JSON.stringify(s.filter)}::jsonb, webhook_url = ${s.webhook_url}, payload = ${s.payload},
      active = ${s.active}, modified = now()
    WHERE id = ${s.id}`.execute(db);
}

export async function deleteAlertSubscription(db: Db, id: string): Promise<boolean> {
  const r = await sql`DELETE FROM alert_subscriptions WHERE id = ${id} RETURNING id`.execute(db);
  return r.rows.length > 0;
}

export async function findAlertSubscription(db: Db, id: string): Promise<AlertSubscriptionRow | undefined> {
  const r = await sql<AlertSubscriptionRow>`SELECT ${subscriptionColumns} FROM alert_subscriptions s WHERE s.id = ${id}`.execute(db);
  return r.rows[0];
}

/** A client's subscriptions (every client's, for the admin), oldest first. */
export async function listAlertSubscriptions(db: Db, clientId: string | undefined): Promise<AlertSubscriptionRow[]> {
  const r = await sql<AlertSubscriptionRow>`SELECT ${subscriptionColumns} FROM alert_subscriptions s
    WHERE ${clientId ? sql`s.client_id = ${clientId}` : sql`true`} ORDER BY s.created, s.id`.execute(db);
  return r.rows;
}

// ---- matching ----------------------------------------------------------------------------

/**
 * Only one matcher runs at a time across replicas, so alerts commit in seq order. Advisory locks
 * are database-wide: the key includes the schema, so nodes kept in other schemas of the same
 * database (and parallel test files) never wait on each other's matcher.
 */
export async function tryMatcherLock(tx: Transaction<Schema>): Promise<boolean> {
  const r = await sql<{
    locked: boolean;
  }>`SELECT pg_try_advisory_xact_lock(hashtext('vigil alert matcher ' || current_schema())) AS locked`.execute(tx);
  return r.rows[0]?.locked === true;
}

export type OutboxRow = { seq: string; collection_id: string; first_added: string; last_added: string };

export async function readOutbox(tx: Transaction<Schema>, limit: number): Promise<OutboxRow[]> {
  const r =
    await sql<OutboxRow>`SELECT seq::text AS seq, collection_id, ${taxiiTime('first_added')} AS first_added, ${taxiiTime('last_added')} AS last_added
    FROM alert_outbox ORDER BY seq LIMIT ${limit}`.execute(tx);
  return r.rows;
}

export async function deleteOutbox(tx: Transaction<Schema>, seqs: string[]): Promise<void> {
  if (seqs.length === 0) return;
  await sql`DELETE FROM alert_outbox WHERE seq IN (${sql.join(seqs.map((s) => sql`${s}::bigint`))})`.execute(tx);
}

/** Alerts kept, by state (for the metrics). */
export async function alertCountsByState(db: Db): Promise<{ state: string; n: number }[]> {
  const r = await sql<{ state: string; n: string }>`SELECT state, count(*)::text AS n FROM alerts GROUP BY state`.execute(db);
  return r.rows.map((row) => ({ state: row.state, n: Number(row.n) }));
}

export async function outboxBacklog(db: Db): Promise<number> {
  const r = await sql<{ n: string }>`SELECT count(*)::text AS n FROM alert_outbox`.execute(db);
  return Number(r.rows[0]?.n ?? 0);
}

/** An active subscription with what the matcher needs of its client. */
export type MatchingSubscription = {
  id: string;
  client_id: string;
  filter: unknown;
  webhook_url: string | null;
  clearance: number;
  own_org: boolean;
  /** Its collections that the client may still read (grants may have changed since). */
  readable: string[];
  /** Of those, the ones where the client is a named RED recipient. */
  red: string[];
};

const matchingColumns = sql`s.id, s.client_id, s.filter, s.webhook_url, c.clearance, c.own_org,
  ARRAY(SELECT g.collection_id::text FROM collection_grants g
        WHERE g.client_id = s.client_id AND g.can_read AND g.collection_id = ANY (s.collection_ids) ORDER BY g.collection_id) AS readable,
  ARRAY(SELECT rr.collection_id::text FROM red_recipients rr
        WHERE rr.client_id = s.client_id AND rr.collection_id = ANY (s.collection_ids)) AS red`;

export async function matchingSubscriptions(tx: Transaction<Schema>, collectionIds: string[]): Promise<MatchingSubscription[]> {
  if (collectionIds.length === 0) return [];
  const r = await sql<MatchingSubscription>`SELECT ${matchingColumns}
    FROM alert_subscriptions s JOIN clients c ON c.id = s.client_id
    WHERE s.active AND c.kind = 'client' AND s.collection_ids && ${uuidArray(collectionIds)}`.execute(tx);
  return r.rows;
}

/**
 * Active subscriptions with trend criteria (alert-filter.ts, isTrendFilter), whatever their
 * collections: an aggregate stored in any collection their client reads may make them fire.
 */
export async function trendSubscriptions(tx: Transaction<Schema>): Promise<MatchingSubscription[]> {
  const r = await sql<MatchingSubscription>`SELECT ${matchingColumns}
    FROM alert_subscriptions s JOIN clients c ON c.id = s.client_id
    WHERE s.active AND c.kind = 'client' AND (s.filter ? 'min_sighting_orgs' OR s.filter->'rising' = 'true'::jsonb)`.execute(tx);
  return r.rows;
}

/** An indicator's bucket that aggregate versions stored in a batch fall in, and the last of them stored. */
export type BatchAggregate = { indicator_id: string; bucket_size: 'hour' | 'day'; bucket_ms: number; stored_at: string };

export async function batchAggregates(
  tx: Transaction<Schema>,
  collectionId: string,
  first: string,
  last: string,
): Promise<BatchAggregate[]> {
  const r = await sql<BatchAggregate>`
    SELECT f.indicator_id, f.bucket_size, (extract(epoch FROM f.bucket_start) * 1000)::float8 AS bucket_ms,
      ${taxiiTimeOf(sql`max(o.date_added)`)} AS stored_at
    FROM objects o
    JOIN sighting_figures f ON f.collection_id = o.collection_id AND f.id = o.id AND f.spec_version = o.spec_version AND f.version_key = o.version_key
    WHERE o.collection_id = ${collectionId} AND o.type = 'sighting' AND o.date_added BETWEEN ${first}::timestamptz AND ${last}::timestamptz
    GROUP BY f.indicator_id, f.bucket_size, f.bucket_start
    ORDER BY f.bucket_start, f.indicator_id`.execute(tx);
  return r.rows.map((row) => ({ ...row, bucket_ms: Number(row.bucket_ms) }));
}

/** The latest version of an indicator in a collection, if the audience may read it: the TLP rules, in SQL. */
export async function readableIndicator(
  tx: Transaction<Schema>,
  collectionId: string,
  audience: Audience,
  relaxContainers: boolean,
  indicatorId: string,
): Promise<BatchVersion | undefined> {
  const r = await sql<BatchVersion>`
    SELECT ${taxiiTime('o.date_added')} AS date_added, o.id, o.type, o.object->'labels' AS labels, o.object->'confidence' AS confidence,
           o.object->'pattern' AS pattern, o.object->'pattern_type' AS pattern_type, o.pap_level
    FROM objects o WHERE o.collection_id = ${collectionId} AND o.id = ${indicatorId} AND o.type = 'indicator' AND o.latest
      AND ${levelVisible('o', audience)} AND ${referencesVisible('o', audience, relaxContainers)}
    ORDER BY o.version_key DESC LIMIT 1`.execute(tx);
  return r.rows[0];
}

/** Marks that a subscription fired for an indicator's bucket; false when it already had. */
export async function markTrendFired(
  tx: Transaction<Schema>,
  subscriptionId: string,
  indicatorId: string,
  size: 'hour' | 'day',
  start: string,
): Promise<boolean> {
  const r = await sql`INSERT INTO alert_trend_fired (subscription_id, indicator_id, bucket_size, bucket_start)
    VALUES (${subscriptionId}, ${indicatorId}, ${size}, ${start}::timestamptz) ON CONFLICT DO NOTHING RETURNING subscription_id`.execute(
    tx,
  );
  return r.rows.length > 0;
}

/** Has the subscription fired for the indicator's bucket? (Checked before counting, which costs more.) */
export async function trendFired(
  tx: Transaction<Schema>,
  subscriptionId: string,
  indicatorId: string,
  size: 'hour' | 'day',
  start: string,
): Promise<boolean> {
  const r = await sql`SELECT 1 FROM alert_trend_fired WHERE subscription_id = ${subscriptionId} AND indicator_id = ${indicatorId}
    AND bucket_size = ${size} AND bucket_start = ${start}::timestamptz`.execute(tx);
  return r.rows.length > 0;
}

/** The parts of each stored version in a batch's range that a filter looks at. */
export type BatchVersion = {
  date_added: string;
  id: string;
  type: string;
  labels: unknown;
  confidence: unknown;
  pattern: unknown;
  pattern_type: unknown;
  pap_level: number | null;
};

export async function batchVersions(tx: Transaction<Schema>, collectionId: string, first: string, last: string): Promise<BatchVersion[]> {
  const r = await sql<BatchVersion>`
    SELECT ${taxiiTime('o.date_added')} AS date_added, o.id, o.type, o.object->'labels' AS labels, o.object->'confidence' AS confidence,
           o.object->'pattern' AS pattern, o.object->'pattern_type' AS pattern_type, o.pap_level
    FROM objects o WHERE o.collection_id = ${collectionId} AND o.date_added BETWEEN ${first}::timestamptz AND ${last}::timestamptz
    ORDER BY o.date_added`.execute(tx);
  return r.rows;
}

/**
 * A vulnerability linked to software by a `has`/`targets` relationship, where the batch stored
 * any of the three: the latest stored version of each, and the software's CPE.
 */
export type SoftwareLink = BatchVersion & { relationship_added: string; software_added: string; cpe: string };

export async function softwareLinks(tx: Transaction<Schema>, collectionId: string, first: string, last: string): Promise<SoftwareLink[]> {
  const inBatch = sql`BETWEEN ${first}::timestamptz AND ${last}::timestamptz`;
  const r = await sql<SoftwareLink>`
    WITH touched AS (
      SELECT o.id, o.type FROM objects o
      WHERE o.collection_id = ${collectionId} AND o.date_added ${inBatch} AND o.type IN ('vulnerability', 'software', 'relationship')
    ), rels AS (
      SELECT DISTINCT ON (r.id) r.id, r.date_added, r.object->>'source_ref' AS src, r.object->>'target_ref' AS tgt
      FROM objects r
      WHERE r.collection_id = ${collectionId} AND r.type = 'relationship' AND r.object->>'relationship_type' IN ('has', 'targets')
        AND (r.id IN (SELECT id FROM touched WHERE type = 'relationship')
             OR r.ref_ids && ARRAY(SELECT id FROM touched WHERE type <> 'relationship'))
      ORDER BY r.id, r.version_at DESC
    )
    SELECT ${taxiiTime('v.date_added')} AS date_added, v.id, v.type, v.object->'labels' AS labels, v.object->'confidence' AS confidence,
           v.object->'pattern' AS pattern, v.object->'pattern_type' AS pattern_type, v.pap_level,
           ${taxiiTime('rels.date_added')} AS relationship_added, ${taxiiTime('sw.date_added')} AS software_added, sw.object->>'cpe' AS cpe
    FROM rels
    JOIN LATERAL (SELECT * FROM objects x WHERE x.collection_id = ${collectionId} AND x.type = 'vulnerability' AND x.id IN (rels.src, rels.tgt)
                  ORDER BY x.version_at DESC LIMIT 1) v ON true
    JOIN LATERAL (SELECT * FROM objects x WHERE x.collection_id = ${collectionId} AND x.type = 'software' AND x.id IN (rels.src, rels.tgt)
                  ORDER BY x.version_at DESC LIMIT 1) sw ON true
    WHERE sw.object->>'cpe' IS NOT NULL`.execute(tx);
  return r.rows;
}

/** Of the given versions (by date_added), those the audience may read: the TLP rules, in SQL. */
export async function visibleVersions(
  db: Db,
  collectionId: string,
  audience: Audience,
  relaxContainers: boolean,
  dateAdded: readonly string[],
): Promise<Set<string>> {
  if (dateAdded.length === 0) return new Set();
  const r = await sql<{ date_added: string }>`
    SELECT ${taxiiTime('o.date_added')} AS date_added FROM objects o
    WHERE o.collection_id = ${collectionId} AND o.date_added = ANY (${timeArray(dateAdded)})
      AND ${levelVisible('o', audience)} AND ${referencesVisible('o', audience, relaxContainers)}`.execute(db);
  return new Set(r.rows.map((row) => row.date_added));
}

export type NewAlert = {
  id: string;
  subscriptionId: string;
  collectionId: string;
  refs: string[];
  storedAt: string;
  state: 'pending' | 'stream';
  /** An alert fired by trend criteria: the figures it fired on (alert-payload.ts, "trend"). */
  trend?: unknown;
};

export async function insertAlerts(tx: Transaction<Schema>, alerts: NewAlert[]): Promise<void> {
  if (alerts.length === 0) return;
  const rows = JSON.stringify(alerts.map((a) => [a.id, a.subscriptionId, a.collectionId, a.refs, a.storedAt, a.state, a.trend ?? null]));
  await sql`INSERT INTO alerts (id, subscription_id, collection_id, object_refs, stored_at, state, trend)
    SELECT (v->>0)::uuid, (v->>1)::uuid, (v->>2)::uuid, v->3, (v->>4)::timestamptz, v->>5, nullif(v->6, 'null'::jsonb)
    FROM jsonb_array_elements(${rows}::jsonb) WITH ORDINALITY AS t(v, ord) ORDER BY ord`.execute(tx);
}

// ---- delivery ----------------------------------------------------------------------------

/** An alert with what delivering or streaming it needs. */
export type AlertRow = {
  seq: string;
  id: string;
  subscription_id: string;
  subscription_name: string;
  client_id: string;
  collection_id: string;
  api_root: string;
  relax_container_refs: boolean;
  webhook_url: string | null;
  payload: 'objects' | 'ids';
  object_refs: string[];
  created: string;
  stored_at: string;
  attempts: number;
  /** The figures of an alert fired by trend criteria; null for the others. */
  trend: unknown;
  /** The subscriber's policy now: alerts are read with its current rights, not those it had when matched. */
  clearance: number;
  own_org: boolean;
  red: boolean;
  can_read: boolean;
};

const alertColumns = sql`a.seq::text AS seq, a.id, a.subscription_id, s.name AS subscription_name, s.client_id, a.collection_id,
  col.api_root, col.relax_container_refs, s.webhook_url, s.payload, a.object_refs, ${taxiiTime('a.created')} AS created,
  ${taxiiTime('a.stored_at')} AS stored_at, a.attempts, a.trend, c.clearance, c.own_org,
  EXISTS (SELECT 1 FROM red_recipients rr WHERE rr.client_id = s.client_id AND rr.collection_id = a.collection_id) AS red,
  EXISTS (SELECT 1 FROM collection_grants g WHERE g.client_id = s.client_id AND g.collection_id = a.collection_id AND g.can_read) AS can_read`;
const alertJoins = sql`JOIN alert_subscriptions s ON s.id = a.subscription_id JOIN clients c ON c.id = s.client_id
  JOIN collections col ON col.id = a.collection_id`;

/** Takes up to `limit` due webhook alerts whose lease ran out, for `leaseSeconds`; replicas share the work. */
export async function claimDueAlerts(db: Db, owner: string, leaseSeconds: number, limit: number): Promise<AlertRow[]> {
  const r = await sql<AlertRow>`
    WITH claimed AS (
      UPDATE alerts SET lease_owner = ${owner}, lease_until = now() + ${leaseSeconds} * interval '1 second'
      WHERE seq IN (SELECT seq FROM alerts WHERE state = 'pending' AND next_attempt <= now() AND lease_until < now()
                    ORDER BY next_attempt, seq LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING *
    )
    SELECT ${alertColumns} FROM claimed a ${alertJoins} ORDER BY a.seq`.execute(db);
  return r.rows;
}

export async function markDelivered(db: Db, id: string, owner: string, status: number): Promise<void> {
  await sql`UPDATE alerts SET state = 'delivered', attempts = attempts + 1, delivered_at = clock_timestamp(), last_status = ${status},
      last_error = NULL, lease_owner = NULL, lease_until = '-infinity'
    WHERE id = ${id} AND lease_owner = ${owner} AND state = 'pending'`.execute(db);
}

/** A failed attempt: due again after `delaySeconds`, or dead once `dead` says so. */
export async function markFailed(
  db: Db,
  id: string,
  owner: string,
  f: { error: string; status: number | null; delaySeconds: number; dead: boolean },
): Promise<void> {
  await sql`UPDATE alerts SET attempts = attempts + 1, last_error = ${f.error.slice(0, 2000)}, last_status = ${f.status},
      state = ${f.dead ? 'dead' : 'pending'}, next_attempt = now() + ${f.delaySeconds} * interval '1 second',
      lease_owner = NULL, lease_until = '-infinity'
    WHERE id = ${id} AND lease_owner = ${owner} AND state = 'pending'`.execute(db);
}

/** Nothing of the alert may be sent to its client any more (its rights changed): never sent. */
export async function markWithheld(db: Db, id: string, owner: string): Promise<void> {
  await sql`UPDATE alerts SET state = 'withheld', lease_owner = NULL, lease_until = '-infinity'
    WHERE id = ${id} AND lease_owner = ${owner} AND state = 'pending'`.execute(db);
}

/** The subscription no longer has a webhook: the alert is the stream's only, as if matched so. */
export async function markStreamOnly(db: Db, id: string, owner: string): Promise<void> {
  await sql`UPDATE alerts SET state = 'stream', lease_owner = NULL, lease_until = '-infinity'
    WHERE id = ${id} AND lease_owner = ${owner} AND state = 'pending'`.execute(db);
}

/** Puts a dead alert back in the queue (an operator fixed the receiver). */
export async function requeueAlert(db: Db, subscriptionId: string, id: string): Promise<boolean> {
  const r = await sql`UPDATE alerts SET state = 'pending', next_attempt = now(), attempts = 0, lease_owner = NULL, lease_until = '-infinity'
    WHERE id = ${id} AND subscription_id = ${subscriptionId} AND state = 'dead' RETURNING id`.execute(db);
  return r.rows.length > 0;
}

export type DeliveryRow = {
  seq: string;
  id: string;
  state: string;
  attempts: number;
  object_count: number;
  created: string;
  stored_at: string;
  next_attempt: string | null;
  delivered_at: string | null;
  last_status: number | null;
  last_error: string | null;
};

/** A subscription's most recent alerts and how their delivery went, newest first. */
export async function listDeliveries(db: Db, subscriptionId: string, state: string | undefined, limit: number): Promise<DeliveryRow[]> {
  const r = await sql<DeliveryRow>`
    SELECT a.seq::text AS seq, a.id, a.state, a.attempts, jsonb_array_length(a.object_refs) AS object_count,
      ${taxiiTime('a.created')} AS created, ${taxiiTime('a.stored_at')} AS stored_at,
      CASE WHEN a.state = 'pending' THEN ${taxiiTime('a.next_attempt')} END AS next_attempt,
      CASE WHEN a.delivered_at IS NOT NULL THEN ${taxiiTime('a.delivered_at')} END AS delivered_at, a.last_status, a.last_error
    FROM alerts a WHERE a.subscription_id = ${subscriptionId} ${state ? sql`AND a.state = ${state}` : sql``}
    ORDER BY a.seq DESC LIMIT ${limit}`.execute(db);
  return r.rows;
}

/** Alerts of the given subscriptions after an event id, oldest first (the SSE stream). */
export async function alertsAfter(db: Db, subscriptionIds: readonly string[], afterSeq: string, limit: number): Promise<AlertRow[]> {
  if (subscriptionIds.length === 0) return [];
  const r = await sql<AlertRow>`SELECT ${alertColumns} FROM alerts a ${alertJoins}
    WHERE a.subscription_id = ANY (${uuidArray(subscriptionIds)}) AND a.seq > ${afterSeq}::bigint ORDER BY a.seq LIMIT ${limit}`.execute(
    db,
  );
  return r.rows;
}

/** The newest event id: a stream opened without Last-Event-ID starts after it. */
export async function lastAlertSeq(db: Db): Promise<string> {
  const r = await sql<{ seq: string }>`SELECT coalesce(max(seq), 0)::text AS seq FROM alerts`.execute(db);
  return r.rows[0]?.seq ?? '0';
}

export type AlertObject = { date_added: string; id: string; version: string; json: string };

/** The alert's versions that the audience may read now, as stored JSON text: the path out applies the TLP rules again. */
export async function alertObjects(
  db: Db,
  collectionId: string,
  audience: Audience,
  relaxContainers: boolean,
  refs: readonly string[],
): Promise<AlertObject[]> {
  if (refs.length === 0) return [];
  const r = await sql<AlertObject>`
    SELECT ${taxiiTime('o.date_added')} AS date_added, o.id, coalesce(o.version, ${taxiiTime('o.version_at')}) AS version, o.object::text AS json
    FROM objects o
    WHERE o.collection_id = ${collectionId} AND o.date_added = ANY (${timeArray(refs)})
      AND ${levelVisible('o', audience)} AND ${referencesVisible('o', audience, relaxContainers)}
    ORDER BY o.date_added`.execute(db);
  return r.rows;
}

/** Forgets alerts older than the retention (delivered, dead or streamed alike). */
export async function pruneAlerts(db: Db, retentionHours: number): Promise<number> {
  const r = await sql`DELETE FROM alerts WHERE created < now() - ${retentionHours} * interval '1 hour' AND state <> 'pending'`.execute(db);
  // A day bucket ends a day after its start; the matcher fires for no bucket over longer than the retention.
  await sql`DELETE FROM alert_trend_fired WHERE bucket_start < now() - ${retentionHours} * interval '1 hour' - interval '1 day'`.execute(
    db,
  );
  return Number(r.numAffectedRows ?? 0);
}

// ---- the SSE stream: every alert of a client (src/alerts/stream.ts) ----------------------

/**
 * Alerts of all a client's subscriptions (everyone's, for the admin) after an event id, oldest
 * first. One statement: a subscription made meanwhile is in the page's snapshot with all its alerts.
 */
export async function clientAlertsAfter(db: Db, clientId: string | undefined, afterSeq: string, limit: number): Promise<AlertRow[]> {
  const r = await sql<AlertRow>`SELECT ${alertColumns} FROM alerts a ${alertJoins}
    WHERE ${clientId ? sql`s.client_id = ${clientId}` : sql`true`} AND a.seq > ${afterSeq}::bigint ORDER BY a.seq LIMIT ${limit}`.execute(
    db,
  );
  return r.rows;
}
