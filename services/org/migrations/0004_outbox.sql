-- The transactional outbox (libs/events/outbox.h): every change's events, written in the
-- change's transaction, numbered without gaps by outbox_head, published to Redis by the
-- relay (sent_time set once XADD succeeded) and replayed by WatchChanges.
CREATE TABLE outbox (
  sequence    bigint PRIMARY KEY,
  type        text NOT NULL,
  subject     text NOT NULL,
  event       bytea NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now(),
  sent_time   timestamptz
);
CREATE INDEX outbox_unsent ON outbox (sequence) WHERE sent_time IS NULL;

CREATE TABLE outbox_head (
  source        text PRIMARY KEY,
  last_sequence bigint NOT NULL CHECK (last_sequence >= 0)
);
