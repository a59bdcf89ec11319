-- Paused jobs (jobsd pause / POST /api/jobs/:id/pause, or pause_after_failures): shared by every replica,
-- kept across restarts. A row whose `until` has passed is a pause that ended by itself.
CREATE TABLE IF NOT EXISTS jobsd.pauses (
  job_id     text        PRIMARY KEY,
  paused_at  timestamptz NOT NULL DEFAULT now(),
  until      timestamptz,
  reason     text,
  paused_by  text        NOT NULL
);
