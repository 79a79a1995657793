-- Sighting reports never wait for an aggregation batch (docs/sightings.md, "When"). The job claims
-- families by a lease, committed at once, and holds no lock on their rows while it works; a report
-- counts itself on its family's row (`touches`), and the job settles, at the end, only families no
-- report touched since its claim: the others stay due. A lease that runs out (a replica gone) lets
-- another replica claim the family; the claim token fences the one whose lease ran out.
ALTER TABLE sighting_work
  ADD COLUMN touches       bigint NOT NULL DEFAULT 0,
  ADD COLUMN claim         uuid,
  ADD COLUMN claim_touches bigint,
  ADD COLUMN lease_until   timestamptz;
