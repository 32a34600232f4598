-- The institute's personal records (shared/specs/registry-persons.md): names for payment orders, the residence a
-- letter is posted to, and the contacts on file. Replaced whole by each import, in one transaction.
CREATE TABLE persons (
    codice_fiscale text COLLATE "C" PRIMARY KEY,
    cognome text NOT NULL,
    nome text NOT NULL,
    data_nascita date NOT NULL,
    indirizzo text,                -- NULL, with cap, comune and provincia, when no residence is on file
    cap text,
    comune text,
    provincia text,
    email text,
    cellulare text,
    CHECK ((indirizzo IS NULL) = (cap IS NULL) AND (cap IS NULL) = (comune IS NULL)
        AND (comune IS NULL) = (provincia IS NULL))
);

-- Figures about the current persons file, written in the import's transaction.
CREATE TABLE persons_meta (
    id integer PRIMARY KEY CHECK (id = 1),
    persons bigint NOT NULL,
    imported_at timestamptz        -- NULL until the first import
);
INSERT INTO persons_meta (id, persons, imported_at) VALUES (1, 0, NULL);
