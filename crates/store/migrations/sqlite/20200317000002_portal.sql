-- The portal's state on SQLite: INPS PIN credentials, login sessions, the outbox of messages to deliver, and the
-- audit log of accesses to personal data. Timestamps are RFC 3339 text in UTC with microseconds, so text order is
-- time order.

-- One PIN per person, only as slow hashes (PHC strings). Reissuing replaces the row and forgets failures and lock.
CREATE TABLE pins (
    codice_fiscale TEXT PRIMARY KEY,
    full_hash TEXT NOT NULL,       -- hash of the 16-character PIN
    simplified_hash TEXT NOT NULL, -- hash of its first 8 characters
    issued_at TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0), -- wrong attempts since the last success or lock
    locked_until TEXT              -- NULL when never locked; a past value means the lock has ended
) STRICT, WITHOUT ROWID;

-- Sessions, by the SHA-256 of their id: a copy of the database opens no session.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    codice_fiscale TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL       -- absolute end, whatever the activity
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_cf ON sessions (codice_fiscale);

-- Messages to deliver, written in the transaction that decides to send them (e.g. with the PIN they carry).
-- AUTOINCREMENT: a worker holding an id never sees it reused for another message.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'console')),
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,            -- wiped once delivered: it may carry half a PIN
    not_before TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    leased_until TEXT,             -- a worker holds it until then
    delivered_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL
) STRICT;
-- What claim_outbox looks through: undelivered messages by due time.
CREATE INDEX outbox_pending ON outbox (not_before, id) WHERE delivered_at IS NULL;

-- Who accessed whose personal data, when and from where. Append-only.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,         -- the codice fiscale whose data it was
    object TEXT,
    at TEXT NOT NULL,
    from_addr TEXT
) STRICT;
CREATE INDEX audit_log_subject_at ON audit_log (subject, at);
