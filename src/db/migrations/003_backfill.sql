-- Runs at a chosen time (jobsd run --at) and backfills re-open a fire's row: the ledger says which runs
-- were a backfill's, and jobsd.backfills holds each backfill's progress for the status page.
ALTER TABLE jobsd.fires ADD COLUMN IF NOT EXISTS backfill boolean NOT NULL DEFAULT false;

CREATE TABLE IF NOT EXISTS jobsd.backfills (
  id          uuid        PRIMARY KEY,
  job_id      text        NOT NULL,
  from_time   timestamptz NOT NULL,
  to_time     timestamptz NOT NULL,
  total       integer     NOT NULL,
  done        integer     NOT NULL DEFAULT 0,
  failed      integer     NOT NULL DEFAULT 0,
  started_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  outcome     text
);
