import type { ColumnType, Generated } from 'kysely';

// Timestamps are read as text (to_char) wherever they reach a client; Kysely's types here
// cover the columns as written.
type Timestamp = ColumnType<Date | string, string | undefined, string>;

export type NodeSettingsTable = { key: string; value: string };

export type ApiRootsTable = {
  name: string;
  title: string;
  description: string | null;
  max_content_length: ColumnType<string | number, number, number>;
  created: Generated<Timestamp>;
};

export type CollectionsTable = {
  id: string;
  api_root: string;
  title: string;
  description: string | null;
  alias: string | null;
  default_level: Generated<number>;
  pap_green_only: Generated<boolean>;
  relax_container_refs: Generated<boolean>;
  public: Generated<boolean>;
  created: Generated<Timestamp>;
};

export type ClientsTable = {
  id: string;
  name: string;
  token_hash: Uint8Array;
  created: Generated<Timestamp>;
  kind: Generated<'client' | 'peer' | 'feed'>;
  clearance: Generated<number>;
  own_org: Generated<boolean>;
  peer_amber: Generated<boolean>;
  node_id: string | null;
  base_url: string | null;
  pinned_keys: ColumnType<unknown, string | undefined, string>;
  organisation: string | null;
};

export type RequestNoncesTable = { jti: string; expires: Timestamp };

export type CollectionGrantsTable = {
  client_id: string;
  collection_id: string;
  can_read: boolean;
  can_write: boolean;
};

export type ObjectsTable = {
  collection_id: string;
  date_added: Timestamp;
  id: string;
  type: string;
  spec_version: string;
  version: string | null;
  version_at: Timestamp;
  version_key: Timestamp;
  marking_refs: string[];
  object: unknown;
  tlp_level: number;
  pap_level: number | null;
  deny_reason: string | null;
  ref_kind: 'link' | 'container' | null;
  ref_ids: string[];
  origin: string | null;
  origin_node: string | null;
  origin_signature: string | null;
  origin_verified: boolean | null;
  unresolved_refs: string[];
};

export type RedRecipientsTable = { collection_id: string; client_id: string };
export type IdLevelsTable = { collection_id: string; id: string; tlp_level: number };
export type DeliveriesTable = {
  seq: Generated<string>;
  recipient: string;
  collection_id: string;
  first_date_added: Timestamp;
  last_date_added: Timestamp;
  object_count: number;
  max_level: number;
  delivered_at: Generated<Timestamp>;
};

export type StatusesTable = {
  id: string;
  collection_id: string;
  client_id: string | null;
  request_timestamp: Timestamp;
  total_count: number;
  expires: Timestamp;
};

export type StatusDetailsTable = {
  status_id: string;
  seq: number;
  outcome: 'success' | 'failure' | 'pending';
  object_id: string | null;
  version: string | null;
  message: string | null;
  payload: unknown;
};

export type IngestJobsTable = {
  status_id: string;
  collection_id: string;
  lease_until: Generated<Timestamp>;
};

/** What this node takes objects in from: a Vigil peer's collection, a TAXII server's, or a MISP's events. */
export type SourcesTable = {
  id: string;
  kind: Generated<'peer' | 'taxii' | 'misp'>;
  /** kind 'peer': the peer client. */
  peer_id: string | null;
  remote_api_root: string | null;
  remote_collection_id: string;
  collection_id: string;
  interval_seconds: number;
  cursor: string | null;
  lease_owner: string | null;
  lease_until: Generated<Timestamp>;
  next_attempt: Generated<Timestamp>;
  consecutive_failures: Generated<number>;
  last_success: Timestamp | null;
  last_error: string | null;
  last_pulled_count: Generated<number>;
  /** When its last run ended, however it ended. */
  last_attempt: Timestamp | null;
  /** Versions its pulls stored, in all: counted in each page's transaction (bigint). */
  stored_count: Generated<string>;
  created: Generated<Timestamp>;
  /** kind 'taxii': the server's API root URL, how to authenticate, the level of unmarked objects. */
  url: string | null;
  auth_kind: 'none' | 'basic' | 'bearer' | 'header' | null;
  auth_name: string | null;
  auth_secret: string | null;
  default_tlp: number | null;
  /** kind 'misp': the restSearch filters it adds (tags, published). */
  filter: Generated<MispFilter | null>;
};

/** What a MISP source asks restSearch for beyond time and paging. */
export type MispFilter = { tags?: string[]; published?: true };

export type ReceiptsTable = {
  seq: Generated<string>;
  source_id: string | null;
  peer: string;
  signature: string;
  body_digest: string;
  object_count: number;
  received_at: Generated<Timestamp>;
};

export type QuarantineTable = {
  seq: Generated<string>;
  source_id: string | null;
  collection_id: string;
  peer: string;
  id: string;
  version: string | null;
  object: unknown;
  origin_node: string | null;
  origin_signature: string | null;
  received_at: Generated<Timestamp>;
};

export type AlertSubscriptionsTable = {
  id: string;
  client_id: string;
  name: string;
  collection_ids: string[];
  filter: unknown;
  webhook_url: string | null;
  payload: Generated<'objects' | 'ids'>;
  active: Generated<boolean>;
  created: Generated<Timestamp>;
  modified: Generated<Timestamp>;
};

export type AlertOutboxTable = {
  seq: Generated<string>;
  collection_id: string;
  first_added: Timestamp;
  last_added: Timestamp;
};

export type AlertsTable = {
  seq: Generated<string>;
  id: string;
  subscription_id: string;
  collection_id: string;
  object_refs: unknown;
  stored_at: Timestamp;
  created: Generated<Timestamp>;
  state: 'pending' | 'delivered' | 'dead' | 'stream' | 'withheld';
  attempts: Generated<number>;
  next_attempt: Generated<Timestamp>;
  lease_owner: string | null;
  lease_until: Generated<Timestamp>;
  last_error: string | null;
  last_status: number | null;
  delivered_at: Timestamp | null;
  trend: unknown;
};

/** The (subscription, indicator, bucket) an alert fired by trend criteria was made for (migration 0017). */
export type AlertTrendFiredTable = { subscription_id: string; indicator_id: string; bucket_size: 'hour' | 'day'; bucket_start: Timestamp };

export type FeedValuesTable = {
  collection_id: string;
  kind: string;
  value: string;
  id: string;
  spec_version: string;
  version_key: Timestamp;
  valid_until: Timestamp | null;
  confidence: number | null;
};

export type SightingReportsTable = {
  seq: Generated<string>;
  client_id: string;
  organisation: string | null;
  org_key: string;
  indicator_id: string;
  collection_id: string;
  count: number;
  first_seen: Timestamp;
  last_seen: Timestamp;
  shareable: boolean;
  via: 'api' | 'taxii';
  received_at: Generated<Timestamp>;
  hour_start: Timestamp;
  day_start: Timestamp;
  published: 'hour' | 'day' | null;
};

/** A family due for the aggregation job, and the job's lease on it (migrations 0015, 0019). */
export type SightingWorkTable = {
  indicator_id: string;
  day_start: Timestamp;
  due: Generated<Timestamp>;
  touches: Generated<string>;
  claim: string | null;
  claim_touches: string | null;
  lease_until: Timestamp | null;
};

export type SightingAggregatesTable = {
  indicator_id: string;
  bucket_size: 'hour' | 'day';
  bucket_start: Timestamp;
  stix_id: string;
  created: Timestamp;
  modified: Timestamp;
  count: ColumnType<string, number, number>;
  organisations: number;
  first_seen: Timestamp;
  last_seen: Timestamp;
};

/** The organisations a published aggregate rests on (migration 0020). */
export type SightingBucketOrgsTable = {
  indicator_id: string;
  bucket_size: 'hour' | 'day';
  bucket_start: Timestamp;
  org_key: string;
};

/** The figures of a stored aggregate sighting version (migration 0016). */
export type SightingFiguresTable = {
  collection_id: string;
  id: string;
  spec_version: string;
  version_key: Timestamp;
  indicator_id: string;
  origin_node: string | null;
  where_sighted: string | null;
  bucket_size: 'hour' | 'day';
  bucket_start: Timestamp;
  count: ColumnType<string, number, number>;
  organisations: number | null;
  first_seen: Timestamp | null;
  last_seen: Timestamp | null;
  /** Copies of the version's own columns, filled and kept in step by triggers (migration 0018). */
  latest: Generated<boolean>;
  date_added: Generated<Timestamp>;
  tlp_level: Generated<number>;
  ref_kind: Generated<'link' | 'container' | null>;
  ref_ids: Generated<string[]>;
};

export type FeedChangesTable = { collection_id: string; generation: Generated<string>; changed_at: Generated<Timestamp> };

export type Schema = {
  node_settings: NodeSettingsTable;
  api_roots: ApiRootsTable;
  collections: CollectionsTable;
  clients: ClientsTable;
  collection_grants: CollectionGrantsTable;
  objects: ObjectsTable;
  statuses: StatusesTable;
  status_details: StatusDetailsTable;
  ingest_jobs: IngestJobsTable;
  red_recipients: RedRecipientsTable;
  id_levels: IdLevelsTable;
  deliveries: DeliveriesTable;
  request_nonces: RequestNoncesTable;
  sources: SourcesTable;
  receipts: ReceiptsTable;
  quarantine: QuarantineTable;
  alert_subscriptions: AlertSubscriptionsTable;
  alert_outbox: AlertOutboxTable;
  alerts: AlertsTable;
  alert_trend_fired: AlertTrendFiredTable;
  feed_values: FeedValuesTable;
  feed_changes: FeedChangesTable;
  sighting_reports: SightingReportsTable;
  sighting_work: SightingWorkTable;
  sighting_aggregates: SightingAggregatesTable;
  sighting_bucket_orgs: SightingBucketOrgsTable;
  sighting_figures: SightingFiguresTable;
};
