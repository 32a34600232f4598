-- The institute's personal records (shared/specs/registry-persons.md): names for payment orders, the residence a
-- letter is posted to, and the contacts on file. Replaced whole by each import, in one transaction.
CREATE TABLE persons (
    codice_fiscale TEXT PRIMARY KEY,
    cognome TEXT NOT NULL,
    nome TEXT NOT NULL,
    data_nascita TEXT NOT NULL,    -- ISO 8601 date
    indirizzo TEXT,                -- NULL, with cap, comune and provincia, when no residence is on file
    cap TEXT,
    comune TEXT,
    provincia TEXT,
    email TEXT,
    cellulare TEXT,
    CHECK ((indirizzo IS NULL) = (cap IS NULL) AND (cap IS NULL) = (comune IS NULL)
        AND (comune IS NULL) = (provincia IS NULL))
) STRICT, WITHOUT ROWID;

-- Figures about the current persons file, written in the import's transaction.
CREATE TABLE persons_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    persons INTEGER NOT NULL,
    imported_at TEXT               -- RFC 3339, UTC; NULL until the first import
) STRICT;
INSERT INTO persons_meta (id, persons, imported_at) VALUES (1, 0, NULL);
