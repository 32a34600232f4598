-- Dead letters: a message that kept failing is set aside (dead_at) after as many attempts as the worker allows, and
-- claimed no more until an operator puts it back in line.
ALTER TABLE outbox ADD COLUMN dead_at TEXT;
