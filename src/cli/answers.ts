// What the admin and alert APIs answer, as far as the vigil command reads it: the fields it
// prints. `--json` prints the whole answer, whatever else it holds.

/** Prints `value` as JSON under --json, else as the lines `human` makes of it. */
export type Print = <T>(value: T, human: (v: T) => string) => void;

export type Named = { id: string; name: string };
export type Grant = { collection_id: string; can_read: boolean; can_write: boolean };
export type Client = Named & { clearance: string; grants: Grant[] };
export type CreatedClient = { id: string; kind?: string; token?: string };
export type PeerIdentity = { name: string; node_id: string; keys: { kid: string }[] };

export type ApiRoot = { name: string; title: string; max_content_length: number };
export type Collection = { id: string; api_root: string; alias: string | null; title: string; red_recipients: string[] };
export type Recipient = { delivered_at: string; recipient: string; max_level: string; object_count: number };
export type Provenance = {
  version: string;
  tlp_level: string;
  date_added: string;
  received_from: string | null;
  origin_node: string | null;
  intake?: { kind: string; url: string; at: string } | null;
};
export type Denied = {
  objects: { id: string; version: string; cause: string; reason: string }[];
  waiting: { marking_definition: string; objects: number }[];
  truncated: boolean;
};

/** A source, as the admin API answers it (`/admin/sources`): a peer's, a TAXII server's or a MISP's. */
export type Source = {
  id: string;
  kind: 'peer' | 'taxii' | 'misp';
  peer_node_id?: string;
  remote_api_root?: string;
  url?: string;
  auth?: { kind: 'none' | 'basic' | 'bearer' | 'header'; username?: string; name?: string };
  default_tlp?: string | null;
  /** kind misp: the restSearch filters. */
  tags?: string[];
  published_only?: boolean;
  remote_collection_id: string;
  collection_id: string;
  interval_seconds: number;
  last_success: string | null;
  last_attempt: string | null;
  lag_seconds: number | null;
  consecutive_failures: number;
  last_pulled_count: number;
  stored_count: number;
  quarantined: number;
  last_error: string | null;
  next_attempt: string;
};

export type AlertSubscription = Named & {
  active: boolean;
  collections: string[];
  filter: unknown;
  webhook_url: string | null;
  payload: string;
};
export type AlertDelivery = {
  id: string;
  event_id?: string;
  seq: string;
  state: string;
  object_count: number;
  created: string;
  attempts: number;
  delivered_at: string | null;
  next_attempt: string | null;
  last_error: string | null;
};
