-- Which agent dispatches the ticker's fires (src/queue/dispatch-lease.ts): one row; the token grows at each
-- change of holder (a compare-and-set on it decides a takeover).
CREATE TABLE IF NOT EXISTS jobsd.dispatcher (
  id     boolean     PRIMARY KEY DEFAULT true CHECK (id),
  holder text,
  token  bigint      NOT NULL,
  since  timestamptz NOT NULL DEFAULT now()
);
