-- Each instance's catalog one row per job, so that a change writes the rows of the jobs it changed only:
-- migration 004's instances.catalog held the whole catalog in one jsonb value, rewritten on every change
-- (30 MB with 100,000 jobs). jobs_reported: the instance's catalog is in jobsd.instance_jobs (false: it
-- reports none, a worker, or not yet; an older version may still report it in instances.catalog).
CREATE TABLE IF NOT EXISTS jobsd.instance_jobs (
  instance text  NOT NULL REFERENCES jobsd.instances (name) ON DELETE CASCADE,
  id       text  NOT NULL,
  job      jsonb NOT NULL,
  PRIMARY KEY (instance, id)
);
ALTER TABLE jobsd.instances ADD COLUMN IF NOT EXISTS jobs_reported boolean NOT NULL DEFAULT false;
