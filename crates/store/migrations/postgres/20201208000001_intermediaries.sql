-- Who may act for citizens (docs/specs/intermediaries-roster.md): the institute's roster of operators, one row per
-- operator and office, replaced whole by each import in one transaction; and the mandates an office records for a
-- citizen (DM 10 ottobre 2008 n. 193 art. 4), with the signed form's SHA-256.
CREATE TABLE roster (
    operator text NOT NULL,            -- the operator's codice fiscale
    office text NOT NULL,
    office_name text NOT NULL,
    organisation text NOT NULL,
    organisation_name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('patronato', 'caf', 'consulente', 'contact_center')),
    role text NOT NULL CHECK (role IN ('operatore', 'responsabile')),
    valid_from date NOT NULL,
    valid_to date,                     -- included; NULL until the institute ends it
    PRIMARY KEY (operator, office)
);

-- Figures about the current roster, written in the import's transaction.
CREATE TABLE roster_meta (
    id integer PRIMARY KEY CHECK (id = 1),
    operators bigint NOT NULL,         -- rows: operators in offices
    offices bigint NOT NULL,
    imported_at timestamptz            -- NULL until the first import
);
INSERT INTO roster_meta (id, operators, offices, imported_at) VALUES (1, 0, 0, NULL);

-- A mandate: the citizen (subject) entrusts an office with an object, signing a form an operator of the office signs
-- too. In force from signed_on to expires_on (included) unless revoked. The form itself is kept beside it, with its
-- SHA-256: the same form cannot stand for two mandates.
CREATE TABLE mandates (
    id bigserial PRIMARY KEY,
    subject text NOT NULL,             -- the citizen's codice fiscale
    office text NOT NULL,
    operator text NOT NULL,            -- who recorded it
    object text NOT NULL,
    signed_on date NOT NULL,
    expires_on date NOT NULL,          -- included
    form_sha256 text NOT NULL UNIQUE,  -- hex
    form bytea NOT NULL,               -- the signed form, a PDF
    privacy_acknowledged boolean NOT NULL CHECK (privacy_acknowledged),
    recorded_at timestamptz NOT NULL,
    revoked_at timestamptz,            -- NULL while not revoked
    revoked_by text,                   -- the actor who revoked it, as stored in sessions
    CHECK (expires_on >= signed_on),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX mandates_subject ON mandates (subject);
CREATE INDEX mandates_office ON mandates (office, subject);
