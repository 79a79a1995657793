-- The organisations each published aggregate rests on, one row per bucket and organisation
-- (docs/sightings.md, "When"). A run of the aggregation job adds what it publishes to a bucket's
-- figures and organisations, rather than recounting every report published in the bucket: a hot
-- indicator's day holds thousands of reports, and a run cost more as its day filled. A bucket has
-- at most as many rows as the node has organisations.
CREATE TABLE sighting_bucket_orgs (
  indicator_id text NOT NULL,
  bucket_size  text NOT NULL CHECK (bucket_size IN ('hour', 'day')),
  bucket_start timestamptz NOT NULL,
  org_key      text NOT NULL,
  PRIMARY KEY (indicator_id, bucket_size, bucket_start, org_key)
);

INSERT INTO sighting_bucket_orgs (indicator_id, bucket_size, bucket_start, org_key)
SELECT DISTINCT indicator_id, 'hour', hour_start, org_key FROM sighting_reports WHERE published = 'hour'
UNION
SELECT DISTINCT indicator_id, 'day', day_start, org_key FROM sighting_reports WHERE published IS NOT NULL;
