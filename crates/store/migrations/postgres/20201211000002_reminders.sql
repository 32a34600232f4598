-- "Avvisami": waiting visitors to tell when their turn is near. A row lives until the message is in the outbox (same
-- transaction) or the place's hold ends; the contact is kept for nothing else.
CREATE TABLE waiting_reminders (
    room text NOT NULL,
    window_id bigint NOT NULL CHECK (window_id >= 0),
    place bigint NOT NULL CHECK (place >= 0),
    channel text NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient text NOT NULL,
    ticket text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (room, window_id, place)
);
CREATE INDEX waiting_reminders_expires_at ON waiting_reminders (expires_at);
