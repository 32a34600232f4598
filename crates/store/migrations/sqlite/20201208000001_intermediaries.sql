-- Who may act for citizens (docs/specs/intermediaries-roster.md): the institute's roster of operators, one row per
-- operator and office, replaced whole by each import in one transaction; and the mandates an office records for a
-- citizen (DM 10 ottobre 2008 n. 193 art. 4), with the signed form's SHA-256.
CREATE TABLE roster (
    operator TEXT NOT NULL,            -- the operator's codice fiscale
    office TEXT NOT NULL,
    office_name TEXT NOT NULL,
    organisation TEXT NOT NULL,
    organisation_name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('patronato', 'caf', 'consulente', 'contact_center')),
    role TEXT NOT NULL CHECK (role IN ('operatore', 'responsabile')),
    valid_from TEXT NOT NULL,          -- ISO 8601 date
    valid_to TEXT,                     -- ISO 8601 date, included; NULL until the institute ends it
    PRIMARY KEY (operator, office)
) STRICT, WITHOUT ROWID;

-- Figures about the current roster, written in the import's transaction.
CREATE TABLE roster_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    operators INTEGER NOT NULL,        -- rows: operators in offices
    offices INTEGER NOT NULL,
    imported_at TEXT                   -- RFC 3339, UTC; NULL until the first import
) STRICT;
INSERT INTO roster_meta (id, operators, offices, imported_at) VALUES (1, 0, 0, NULL);

-- A mandate: the citizen (subject) entrusts an office with an object, signing a form an operator of the office signs
-- too. In force from signed_on to expires_on (included) unless revoked. The form itself is kept beside it, with its
-- SHA-256: the same form cannot stand for two mandates.
CREATE TABLE mandates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,             -- the citizen's codice fiscale
    office TEXT NOT NULL,
    operator TEXT NOT NULL,            -- who recorded it
    object TEXT NOT NULL,
    signed_on TEXT NOT NULL,           -- ISO 8601 date
    expires_on TEXT NOT NULL,          -- ISO 8601 date, included
    form_sha256 TEXT NOT NULL UNIQUE,  -- hex
    form BLOB NOT NULL,                -- the signed form, a PDF
    privacy_acknowledged INTEGER NOT NULL CHECK (privacy_acknowledged = 1),
    recorded_at TEXT NOT NULL,         -- RFC 3339, UTC
    revoked_at TEXT,                   -- RFC 3339, UTC; NULL while not revoked
    revoked_by TEXT,                   -- the actor who revoked it, as stored in sessions
    CHECK (expires_on >= signed_on),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
) STRICT;
CREATE INDEX mandates_subject ON mandates (subject);
CREATE INDEX mandates_office ON mandates (office, subject);
