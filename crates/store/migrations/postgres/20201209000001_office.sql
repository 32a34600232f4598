-- The institute's back office: officers' local accounts (until they log in by SPID or CIE), their sessions (a kind of
-- their own, apart from the citizens' so that neither opens the other's pages), and the reason an officer gave for
-- each view of personal data, kept on its audit row.

CREATE TABLE officers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL UNIQUE,
    display_name text NOT NULL,
    role text NOT NULL CHECK (role IN ('officer', 'supervisor', 'dpo', 'auditor')),
    password_hash text NOT NULL,   -- Argon2id, a PHC string
    created_at timestamptz NOT NULL,
    failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0), -- wrong passwords since the last success or lock
    locked_until timestamptz,      -- NULL when never locked; a past value means the lock has ended
    disabled_at timestamptz        -- NULL while the account may log in
);

CREATE TABLE office_sessions (
    id_hash text PRIMARY KEY,      -- SHA-256 of the session id: a copy of the database opens no session
    officer_id bigint NOT NULL REFERENCES officers (id),
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL, -- absolute end, whatever the activity
    from_addr text                 -- where the officer logged in from
);
CREATE INDEX office_sessions_officer ON office_sessions (officer_id);

-- Why an officer looked at a person's data (NULL for the person's own views and the system's actions).
ALTER TABLE audit_log ADD COLUMN reason text;
-- The breach assessment reads the log by time window.
CREATE INDEX audit_log_at ON audit_log (at);
