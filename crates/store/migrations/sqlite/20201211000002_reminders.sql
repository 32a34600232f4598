-- "Avvisami": waiting visitors to tell when their turn is near. A row lives until the message is in the outbox (same
-- transaction) or the place's hold ends; the contact is kept for nothing else.
CREATE TABLE waiting_reminders (
    room TEXT NOT NULL,
    window_id INTEGER NOT NULL CHECK (window_id >= 0),
    place INTEGER NOT NULL CHECK (place >= 0),
    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient TEXT NOT NULL,
    ticket TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (room, window_id, place)
) STRICT, WITHOUT ROWID;
CREATE INDEX waiting_reminders_expires_at ON waiting_reminders (expires_at);
