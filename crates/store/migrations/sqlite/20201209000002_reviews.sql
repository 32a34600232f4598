-- Reviews ("riesame"): a supervisor re-decides an application with a written motivation. One that agrees with the law
-- is applied at once (applied_at set); one that overrides it waits for a second supervisor (confirmed_by). At most one
-- review of an application waits at a time.
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    protocol TEXT NOT NULL REFERENCES applications (protocol),
    codice_fiscale TEXT NOT NULL,
    from_status TEXT NOT NULL CHECK (from_status IN ('accepted', 'rejected', 'suspended_budget', 'annulled')),
    entitled INTEGER NOT NULL CHECK (entitled IN (0, 1)),
    to_status TEXT CHECK (to_status IN ('accepted', 'rejected', 'suspended_budget')),
    overrides_law INTEGER NOT NULL CHECK (overrides_law IN (0, 1)),
    motivation TEXT NOT NULL CHECK (length(motivation) > 0),
    proposed_by TEXT NOT NULL,
    proposed_at TEXT NOT NULL,
    confirmed_by TEXT CHECK (confirmed_by IS NULL OR confirmed_by <> proposed_by),
    applied_at TEXT,
    CHECK ((applied_at IS NULL) = (to_status IS NULL))
) STRICT;
CREATE INDEX reviews_cf ON reviews (codice_fiscale);
CREATE UNIQUE INDEX reviews_one_waiting ON reviews (protocol) WHERE applied_at IS NULL;
