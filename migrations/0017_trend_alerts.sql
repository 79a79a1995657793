-- Early warning on trends (docs/early-warning.md, "Trends"): an alert fired by a subscription's
-- min_sighting_orgs or rising criteria carries the figures it fired on, and fires once per
-- (subscription, indicator, bucket): the row made with the alert, in the matcher's transaction.
ALTER TABLE alerts ADD COLUMN trend jsonb;

CREATE TABLE alert_trend_fired (
  subscription_id uuid NOT NULL REFERENCES alert_subscriptions (id) ON DELETE CASCADE,
  indicator_id    text NOT NULL,
  bucket_size     text NOT NULL CHECK (bucket_size IN ('hour', 'day')),
  bucket_start    timestamptz NOT NULL,
  PRIMARY KEY (subscription_id, indicator_id, bucket_size, bucket_start)
);
-- Pruned with the alerts: a bucket over for longer than ALERT_RETENTION_HOURS fires no more.
CREATE INDEX alert_trend_fired_by_bucket ON alert_trend_fired (bucket_start);
