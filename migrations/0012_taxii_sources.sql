-- Sources of a second kind: a collection of any TAXII 2.1 server (a vendor's or an ISAC's feed, an
-- OpenCTI instance, a Vigil node read as a plain client), pulled over ordinary TAXII with the
-- credentials that server gave this node. Such a source has no peer: it has the server's API root
-- URL, how to authenticate, and the TLP level its unmarked objects get here.

ALTER TABLE sources DROP CONSTRAINT sources_kind_check;
ALTER TABLE sources ADD CONSTRAINT sources_kind_check CHECK (kind IN ('peer', 'taxii'));
ALTER TABLE sources ALTER COLUMN peer_id DROP NOT NULL;
ALTER TABLE sources ALTER COLUMN remote_api_root DROP NOT NULL;

ALTER TABLE sources
  -- The server's API root, e.g. https://feed.example.org/taxii2/api1/ (https; http only on loopback
  -- or where SOURCE_ALLOW_HTTP allows it).
  ADD COLUMN url         text,
  ADD COLUMN auth_kind   text CHECK (auth_kind IN ('none', 'basic', 'bearer', 'header')),
  -- The Basic user name, or the header's name: shown to the admin. The secret never is.
  ADD COLUMN auth_name   text,
  -- The Basic password, the bearer token, or the header's value: sent to the server, nowhere else.
  ADD COLUMN auth_secret text,
  -- The TLP level of unmarked objects from this source (NULL: the collection's default).
  ADD COLUMN default_tlp smallint CHECK (default_tlp BETWEEN 0 AND 4);

ALTER TABLE sources ADD CONSTRAINT sources_kind_fields CHECK (
  (kind = 'peer' AND peer_id IS NOT NULL AND remote_api_root IS NOT NULL AND url IS NULL)
  OR (kind = 'taxii' AND peer_id IS NULL AND url IS NOT NULL AND auth_kind IS NOT NULL));

CREATE UNIQUE INDEX sources_taxii_collection_key ON sources (url, remote_collection_id, collection_id) WHERE kind = 'taxii';
