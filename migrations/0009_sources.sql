-- The federation's pulls were "subscriptions", the word the early-warning service uses for its
-- alert subscriptions. They are sources now: what this node takes objects in from. Every source so
-- far pulls a Vigil peer's collection; `kind` says so, for sources of other kinds to come.

ALTER TABLE subscriptions RENAME TO sources;
ALTER TABLE sources ADD COLUMN kind text NOT NULL DEFAULT 'peer' CHECK (kind IN ('peer'));
ALTER TABLE sources RENAME CONSTRAINT subscriptions_pkey TO sources_pkey;
ALTER TABLE sources RENAME CONSTRAINT subscriptions_peer_id_remote_api_root_remote_collection_id__key TO sources_peer_collection_key;
ALTER TABLE sources RENAME CONSTRAINT subscriptions_peer_id_fkey TO sources_peer_id_fkey;
ALTER TABLE sources RENAME CONSTRAINT subscriptions_collection_id_fkey TO sources_collection_id_fkey;
ALTER TABLE sources RENAME CONSTRAINT subscriptions_interval_seconds_check TO sources_interval_seconds_check;
ALTER INDEX subscriptions_due RENAME TO sources_due;

ALTER TABLE receipts RENAME COLUMN subscription_id TO source_id;
ALTER TABLE receipts RENAME CONSTRAINT receipts_subscription_id_fkey TO receipts_source_id_fkey;
ALTER INDEX receipts_by_subscription RENAME TO receipts_by_source;

ALTER TABLE quarantine RENAME COLUMN subscription_id TO source_id;
ALTER TABLE quarantine RENAME CONSTRAINT quarantine_subscription_id_fkey TO quarantine_source_id_fkey;
ALTER INDEX quarantine_by_subscription RENAME TO quarantine_by_source;
