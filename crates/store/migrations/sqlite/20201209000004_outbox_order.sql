-- One person's messages go out in the order queued: a claim passes over a message while an earlier one to the same
-- recipient is still pending. This index finds that earlier one.
CREATE INDEX outbox_pending_by_recipient ON outbox (recipient, id) WHERE delivered_at IS NULL AND dead_at IS NULL;
