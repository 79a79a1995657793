-- Vigil's first schema: API roots, collections, clients and their grants, STIX objects, statuses.

CREATE TABLE node_settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE api_roots (
  name               text PRIMARY KEY,
  title              text NOT NULL,
  description        text,
  max_content_length bigint NOT NULL CHECK (max_content_length > 0),
  created            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE collections (
  id              uuid PRIMARY KEY,
  api_root        text NOT NULL REFERENCES api_roots (name) ON DELETE CASCADE,
  title           text NOT NULL,
  description     text,
  alias           text,
  -- The last date_added handed out here: writers lock this row, so stamps are unique,
  -- strictly increasing, and committed in stamp order (no poller skips a late commit).
  last_date_added timestamptz NOT NULL DEFAULT '-infinity',
  created         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (api_root, alias)
);
CREATE INDEX collections_by_root ON collections (api_root, id);

CREATE TABLE clients (
  id         uuid PRIMARY KEY,
  name       text NOT NULL UNIQUE,
  token_hash bytea NOT NULL UNIQUE,
  created    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE collection_grants (
  client_id     uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  can_read      boolean NOT NULL DEFAULT false,
  can_write     boolean NOT NULL DEFAULT false,
  PRIMARY KEY (client_id, collection_id)
);
CREATE INDEX collection_grants_by_collection ON collection_grants (collection_id);

-- One row per object version per collection.
CREATE TABLE objects (
  collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  date_added    timestamptz NOT NULL,
  id            text NOT NULL,
  type          text NOT NULL,
  spec_version  text NOT NULL,
  -- The exact `modified` (else `created`) string as sent; NULL for versionless objects (most SCOs).
  version       text,
  -- The version as a time; a versionless object is versioned by its first date_added.
  version_at    timestamptz NOT NULL,
  -- What identifies a version for "already present": versionless objects have one version.
  version_key   timestamptz NOT NULL,
  marking_refs  text[] NOT NULL DEFAULT '{}',
  object        jsonb NOT NULL,
  PRIMARY KEY (collection_id, date_added)
);
CREATE UNIQUE INDEX objects_version_key ON objects (collection_id, id, spec_version, version_key);
CREATE INDEX objects_by_id ON objects (collection_id, id, version_at);
CREATE INDEX objects_by_type ON objects (collection_id, type, date_added);
CREATE INDEX objects_by_marking ON objects USING gin (marking_refs);

CREATE TABLE statuses (
  id                uuid PRIMARY KEY,
  collection_id     uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  -- Who posted: a client id, or NULL for the admin token.
  client_id         uuid REFERENCES clients (id) ON DELETE SET NULL,
  request_timestamp timestamptz NOT NULL,
  total_count       integer NOT NULL,
  expires           timestamptz NOT NULL
);
CREATE INDEX statuses_by_expiry ON statuses (expires);

-- Each object of a request, in envelope order, with its outcome. A pending object waits here
-- as PostgreSQL parsed it from the request body (payload), until it is validated and stored.
CREATE TABLE status_details (
  status_id uuid NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
  seq       integer NOT NULL,
  outcome   text NOT NULL CHECK (outcome IN ('success', 'failure', 'pending')),
  object_id text,
  version   text,
  message   text,
  payload   jsonb,
  PRIMARY KEY (status_id, seq)
);

-- Large requests wait here, durably, until a node replica processes their pending objects.
CREATE TABLE ingest_jobs (
  status_id     uuid PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
  collection_id uuid NOT NULL,
  lease_until   timestamptz NOT NULL DEFAULT '-infinity'
);
