-- Reviews ("riesame"): a supervisor re-decides an application with a written motivation. One that agrees with the law
-- is applied at once (applied_at set); one that overrides it waits for a second supervisor (confirmed_by). At most one
-- review of an application waits at a time.
CREATE TABLE reviews (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    protocol text NOT NULL REFERENCES applications (protocol),
    codice_fiscale text NOT NULL,
    from_status text NOT NULL CHECK (from_status IN ('accepted', 'rejected', 'suspended_budget', 'annulled')),
    entitled boolean NOT NULL,
    to_status text CHECK (to_status IN ('accepted', 'rejected', 'suspended_budget')),
    overrides_law boolean NOT NULL,
    motivation text NOT NULL CHECK (length(motivation) > 0),
    proposed_by text NOT NULL,
    proposed_at timestamptz NOT NULL,
    confirmed_by text CHECK (confirmed_by IS NULL OR confirmed_by <> proposed_by),
    applied_at timestamptz,
    CHECK ((applied_at IS NULL) = (to_status IS NULL))
);
CREATE INDEX reviews_cf ON reviews (codice_fiscale);
CREATE UNIQUE INDEX reviews_one_waiting ON reviews (protocol) WHERE applied_at IS NULL;
