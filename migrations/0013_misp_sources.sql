-- Sources of a third kind: a MISP instance's events, asked for through its restSearch API with
-- returnFormat stix2 (MISP converts them to STIX 2.1 itself). Such a source has the MISP's base
-- URL, the user's authkey (sent as the Authorization header, so kept as a header secret), the
-- TLP level its unmarked objects get here, and the restSearch filters it adds (tags, published).

ALTER TABLE sources DROP CONSTRAINT sources_kind_check;
ALTER TABLE sources ADD CONSTRAINT sources_kind_check CHECK (kind IN ('peer', 'taxii', 'misp'));

-- kind 'misp': the restSearch filters beyond paging and time, e.g. {"tags": ["tlp:green"], "published": true}.
ALTER TABLE sources ADD COLUMN filter jsonb;

ALTER TABLE sources DROP CONSTRAINT sources_kind_fields;
ALTER TABLE sources ADD CONSTRAINT sources_kind_fields CHECK (
  (kind = 'peer' AND peer_id IS NOT NULL AND remote_api_root IS NOT NULL AND url IS NULL)
  OR (kind = 'taxii' AND peer_id IS NULL AND url IS NOT NULL AND auth_kind IS NOT NULL)
  OR (kind = 'misp' AND peer_id IS NULL AND url IS NOT NULL AND auth_kind = 'header' AND auth_secret IS NOT NULL
      AND filter IS NOT NULL));

-- One MISP's events with the same filters into one collection once.
CREATE UNIQUE INDEX sources_misp_key ON sources (url, collection_id, filter) WHERE kind = 'misp';
