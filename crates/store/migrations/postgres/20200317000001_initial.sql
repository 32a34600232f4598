-- Sportello's schema on PostgreSQL. Codici fiscali compare byte by byte (COLLATE "C"), as on SQLite, so paging
-- through the registry gives the same order on both backends.

-- The registry, one row per position of the extract; seq keeps the extract's order. Never updated row by row:
-- each import builds registry_positions_staging and swaps it in (src/postgres.rs, CREATE_STAGING), so that
-- definition must stay identical to this one.
CREATE TABLE registry_positions (
    seq bigint NOT NULL,
    codice_fiscale text COLLATE "C" NOT NULL,
    kind text NOT NULL,            -- PositionKind::as_str
    start_date date,
    end_date date,
    year integer,
    days bigint,
    income_cents bigint,           -- money in integer cents
    cessation text                 -- involuntary | voluntary
);
CREATE INDEX registry_positions_cf ON registry_positions (codice_fiscale);

-- Figures about the current registry, written in the import's transaction, so nobody counts millions of rows.
CREATE TABLE registry_meta (
    id integer PRIMARY KEY CHECK (id = 1),
    persons bigint NOT NULL,
    positions bigint NOT NULL,
    imported_at timestamptz        -- NULL until the first import
);
INSERT INTO registry_meta (id, persons, positions, imported_at) VALUES (1, 0, 0, NULL);

-- Applications. The protocol number is INPS-COVID-<year>-<id, 9 digits>, set in the transaction that inserts the
-- row, so no committed row lacks it.
CREATE TABLE applications (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    protocol text UNIQUE,
    codice_fiscale text COLLATE "C" NOT NULL,
    scheme text NOT NULL,
    idempotency_key text NOT NULL,
    status text NOT NULL CHECK (status IN ('accepted', 'rejected')),
    reasons jsonb NOT NULL,
    details jsonb NOT NULL,
    submitted_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (codice_fiscale, idempotency_key)
);

-- Art. 31 DL 18/2020: the indemnities of arts. 27-30 and 38 are not cumulable. At most one application per person
-- holds an indemnity; rejected ones are kept and do not count.
CREATE UNIQUE INDEX applications_one_per_person ON applications (codice_fiscale) WHERE status <> 'rejected';
