-- The status page counts the last 24 hours' missed fires and failed runs: an index of those rows alone, so
-- the count reads them and not every run of the day.
CREATE INDEX IF NOT EXISTS fires_bad ON jobsd.fires (fire_time) WHERE state IN ('failed', 'timed_out', 'missed');
