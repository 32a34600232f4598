-- The portal's state on PostgreSQL: INPS PIN credentials, login sessions, the outbox of messages to deliver, and
-- the audit log of accesses to personal data.

-- One PIN per person, only as slow hashes (PHC strings). Reissuing replaces the row and forgets failures and lock.
CREATE TABLE pins (
    codice_fiscale text COLLATE "C" PRIMARY KEY,
    full_hash text NOT NULL,       -- hash of the 16-character PIN
    simplified_hash text NOT NULL, -- hash of its first 8 characters
    issued_at timestamptz NOT NULL,
    failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0), -- wrong attempts since the last success or lock
    locked_until timestamptz       -- NULL when never locked; a past value means the lock has ended
);

-- Sessions, by the SHA-256 of their id: a copy of the database opens no session.
CREATE TABLE sessions (
    id_hash text PRIMARY KEY,
    codice_fiscale text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL -- absolute end, whatever the activity
);
CREATE INDEX sessions_cf ON sessions (codice_fiscale);

-- Messages to deliver, written in the transaction that decides to send them (e.g. with the PIN they carry).
CREATE TABLE outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel text NOT NULL CHECK (channel IN ('email', 'sms', 'console')),
    recipient text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,            -- wiped once delivered: it may carry half a PIN
    not_before timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    leased_until timestamptz,      -- a worker holds it until then
    delivered_at timestamptz,
    last_error text,
    created_at timestamptz NOT NULL
);
-- What claim_outbox looks through: undelivered messages by due time.
CREATE INDEX outbox_pending ON outbox (not_before, id) WHERE delivered_at IS NULL;

-- Who accessed whose personal data, when and from where. Append-only.
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor text NOT NULL,
    action text NOT NULL,
    subject text COLLATE "C" NOT NULL, -- the codice fiscale whose data it was
    object text,
    at timestamptz NOT NULL,
    from_addr text
);
CREATE INDEX audit_log_subject_at ON audit_log (subject, at);
