-- Web console sessions (src/console). Replicas share them through the database; the cookie
-- carries a random 256-bit id, and only its SHA-256 is kept here.

CREATE TABLE console_sessions (
  id_hash      bytea PRIMARY KEY,
  -- NULL: the admin. A deleted client's sessions go with it.
  client_id    uuid REFERENCES clients (id) ON DELETE CASCADE,
  -- SHA-256 of the token hash signed in with: a rotated token (or admin token) ends the session.
  credential   bytea NOT NULL,
  csrf_secret  text NOT NULL,
  created      timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
