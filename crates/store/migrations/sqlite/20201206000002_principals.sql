-- Who acts, for whom, by which door. A session records its principal: its kind (a browser's cookie or an API's bearer
-- token, never interchangeable), the actor (who acts, e.g. 'citizen:RSSMRA80A01H501U', later 'operator:…'), how they
-- logged in, and the channel they came by. codice_fiscale stays, as the subject: whose data the session acts on.
--
-- The sessions stored so far cannot say how they were opened, so they are deleted: those users log in again. With
-- nothing to keep, the table is made anew (SQLite adds a NOT NULL column only with a default, and a default would
-- claim to know what nobody recorded).
DROP TABLE sessions;
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,      -- SHA-256 of the session id: a copy of the database opens no session
    kind TEXT NOT NULL CHECK (kind IN ('cookie', 'bearer')),
    actor TEXT NOT NULL,
    codice_fiscale TEXT NOT NULL,  -- the subject
    login_method TEXT NOT NULL
        CHECK (login_method IN ('pin_simplified', 'pin_full', 'spid_l2', 'spid_l3', 'cie', 'cns')),
    channel TEXT NOT NULL CHECK (channel IN ('citizen', 'intermediary', 'contact_center', 'back_office')),
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,      -- absolute end, whatever the activity
    credential TEXT,               -- e.g. 'pin:42', the credential that opened it
    confirmed INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1))
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_cf ON sessions (codice_fiscale);

-- An audit row says by which login and door its actor came: NULL login method for the system's own actions. Rows
-- written so far cannot say; they take 'citizen', the only channel there was (an officer's confirmation from the
-- command line also wrote rows, its actor naming the officer).
ALTER TABLE audit_log ADD COLUMN login_method TEXT;
ALTER TABLE audit_log ADD COLUMN channel TEXT NOT NULL DEFAULT 'citizen';
