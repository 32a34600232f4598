-- Spending limits (budgets) and payments on SQLite.

-- An application that is eligible but would take its scheme past the spending limit is kept, suspended, until a new
-- law raises the limit (art. 27 c. 2 and the like: "non sono adottati altri provvedimenti concessori"). SQLite cannot
-- change a CHECK in place, so the table is rebuilt with the new status allowed; AUTOINCREMENT's memory of the last id
-- moves with it, so no protocol number is ever given twice.
CREATE TABLE applications_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    protocol TEXT UNIQUE,
    codice_fiscale TEXT NOT NULL,
    scheme TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected', 'suspended_budget')),
    reasons TEXT NOT NULL CHECK (json_valid(reasons)),
    details TEXT NOT NULL CHECK (json_valid(details)),
    submitted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (codice_fiscale, idempotency_key)
) STRICT;
INSERT INTO applications_new SELECT id, protocol, codice_fiscale, scheme, idempotency_key, status, reasons, details,
    submitted_at, updated_at FROM applications;
UPDATE sqlite_sequence
SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'applications'), 0))
WHERE name = 'applications_new';
DROP TABLE applications;
ALTER TABLE applications_new RENAME TO applications;
-- Art. 31: a suspended application still holds the person's one indemnity.
CREATE UNIQUE INDEX applications_one_per_person ON applications (codice_fiscale) WHERE status <> 'rejected';
-- Released in order of submission when a limit is raised.
CREATE INDEX applications_suspended ON applications (scheme, submitted_at, id) WHERE status = 'suspended_budget';

-- One spending limit per scheme: what each accepted application reserves (the scheme's amount), the limit and the
-- article that sets it, and what is reserved so far. The CHECK is the last guard against overshooting: a
-- reservation past the limit fails its transaction whatever the code above it decided.
CREATE TABLE budgets (
    scheme TEXT PRIMARY KEY,
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    limit_cents INTEGER NOT NULL CHECK (limit_cents >= 0),
    legal_ref TEXT NOT NULL,
    reserved_cents INTEGER NOT NULL DEFAULT 0 CHECK (reserved_cents >= 0),
    CHECK (reserved_cents <= limit_cents)
) STRICT, WITHOUT ROWID;

-- Every limit a scheme has had, with the law that set it. Append-only.
CREATE TABLE budget_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scheme TEXT NOT NULL,
    limit_cents INTEGER NOT NULL,
    legal_ref TEXT NOT NULL,
    set_at TEXT NOT NULL,
    released INTEGER NOT NULL      -- suspended applications the change accepted
) STRICT;

-- One payment run per payment date, with the ordering account it pays from.
CREATE TABLE payment_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pay_date TEXT NOT NULL UNIQUE, -- ISO 8601 date
    debtor_name TEXT NOT NULL,
    debtor_iban TEXT NOT NULL,
    debtor_bic TEXT NOT NULL,
    created_at TEXT NOT NULL,
    completed_at TEXT              -- set once its files are written
) STRICT;

-- A payment of one application in one run, with the account (or cash at a post office) as it stood then.
-- Protocol, codice fiscale and scheme are copied so that writing a run's files reads this table alone.
CREATE TABLE payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES payment_runs (id),
    application_id INTEGER NOT NULL REFERENCES applications (id),
    protocol TEXT NOT NULL,
    codice_fiscale TEXT NOT NULL,
    scheme TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('iban', 'domiciliato')),
    iban TEXT,
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    -- scheduled: in a run's file; confirmed: the bank accepted it; returned: the bank sent it back (reason holds
    -- the ISO 20022 code); superseded: returned, and the citizen gave a new account, so it may be paid again.
    status TEXT NOT NULL CHECK (status IN ('scheduled', 'confirmed', 'returned', 'superseded')),
    reason TEXT,
    updated_at TEXT NOT NULL,
    CHECK ((method = 'iban') = (iban IS NOT NULL))
) STRICT;
-- Exactly once: an application has at most one payment that is not superseded.
CREATE UNIQUE INDEX payments_once ON payments (application_id) WHERE status <> 'superseded';
CREATE INDEX payments_run ON payments (run_id, method, id);
CREATE INDEX payments_protocol ON payments (protocol);
CREATE INDEX payments_cf ON payments (codice_fiscale);
