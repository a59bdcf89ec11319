-- The fire ledger, the instances registry and the migration record. pg-boss keeps its own schema.
CREATE SCHEMA IF NOT EXISTS jobsd;

CREATE TABLE IF NOT EXISTS jobsd.fires (
  job_id          text        NOT NULL,
  fire_time       timestamptz NOT NULL,
  run_id          uuid        NOT NULL,
  manual          boolean     NOT NULL DEFAULT false,
  state           text        NOT NULL CHECK (state IN ('scheduled', 'queued', 'running', 'succeeded', 'failed',
                                                        'timed_out', 'cancelled', 'skipped', 'missed', 'partial')),
  attempts        integer     NOT NULL DEFAULT 0,
  definition_hash text,
  due_at          timestamptz,
  enqueued_at     timestamptz,
  started_at      timestamptz,
  finished_at     timestamptz,
  instance        text,
  result          jsonb,
  PRIMARY KEY (job_id, fire_time)
);
CREATE INDEX IF NOT EXISTS fires_fire_time ON jobsd.fires (fire_time);
CREATE INDEX IF NOT EXISTS fires_active ON jobsd.fires (job_id) WHERE state IN ('queued', 'running');

CREATE TABLE IF NOT EXISTS jobsd.instances (
  name         text        PRIMARY KEY,
  hostname     text        NOT NULL,
  pid          integer     NOT NULL,
  role         text        NOT NULL,
  version      text        NOT NULL,
  jobs_dir     text        NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  jobs         integer     NOT NULL DEFAULT 0,
  file_errors  jsonb       NOT NULL DEFAULT '[]'
);
