-- What each instance runs, for `jobsd list` and `jobsd run` from anywhere: the settings its job files are
-- read with and its catalog (the jobs it runs, a broken file's last good version included), without secrets.
-- NULL catalog: an instance that does not report one (a worker, or an older version).
ALTER TABLE jobsd.instances
  ADD COLUMN IF NOT EXISTS environment text,
  ADD COLUMN IF NOT EXISTS timezone    text,
  ADD COLUMN IF NOT EXISTS http_url    text,
  ADD COLUMN IF NOT EXISTS catalog     jsonb;
