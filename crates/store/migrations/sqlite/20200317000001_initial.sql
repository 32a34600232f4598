-- Sportello's schema on SQLite. STRICT tables: a value of the wrong type is refused, not silently converted.

-- The registry, one row per position of the extract, in the extract's order (rowid). Never updated row by row:
-- each import builds registry_positions_staging and swaps it in (src/sqlite.rs, CREATE_STAGING), so that
-- definition must stay identical to this one.
CREATE TABLE registry_positions (
    codice_fiscale TEXT NOT NULL,
    kind TEXT NOT NULL,            -- PositionKind::as_str
    start_date TEXT,               -- ISO 8601 date
    end_date TEXT,
    year INTEGER,
    days INTEGER,
    income_cents INTEGER,          -- money in integer cents
    cessation TEXT                 -- involuntary | voluntary
) STRICT;
CREATE INDEX registry_positions_cf ON registry_positions (codice_fiscale);

-- Figures about the current registry, written in the import's transaction, so nobody counts millions of rows.
CREATE TABLE registry_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    persons INTEGER NOT NULL,
    positions INTEGER NOT NULL,
    imported_at TEXT               -- RFC 3339, UTC; NULL until the first import
) STRICT;
INSERT INTO registry_meta (id, persons, positions, imported_at) VALUES (1, 0, 0, NULL);

-- Applications. The protocol number is INPS-COVID-<year>-<id, 9 digits>, set in the transaction that inserts the
-- row, so no committed row lacks it. AUTOINCREMENT: an id, hence a protocol number, is never given twice.
CREATE TABLE applications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    protocol TEXT UNIQUE,
    codice_fiscale TEXT NOT NULL,
    scheme TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
    reasons TEXT NOT NULL CHECK (json_valid(reasons)),
    details TEXT NOT NULL CHECK (json_valid(details)),
    submitted_at TEXT NOT NULL,    -- RFC 3339, UTC, microseconds: text order is time order
    updated_at TEXT NOT NULL,
    UNIQUE (codice_fiscale, idempotency_key)
) STRICT;

-- Art. 31 DL 18/2020: the indemnities of arts. 27-30 and 38 are not cumulable. At most one application per person
-- holds an indemnity; rejected ones are kept and do not count.
CREATE UNIQUE INDEX applications_one_per_person ON applications (codice_fiscale) WHERE status <> 'rejected';
