-- Spending limits (budgets) and payments on PostgreSQL.

-- An application that is eligible but would take its scheme past the spending limit is kept, suspended, until a new
-- law raises the limit (art. 27 c. 2 and the like).
ALTER TABLE applications DROP CONSTRAINT applications_status_check,
    ADD CONSTRAINT applications_status_check CHECK (status IN ('accepted', 'rejected', 'suspended_budget'));
-- Released in order of submission when a limit is raised.
CREATE INDEX applications_suspended ON applications (scheme, submitted_at, id) WHERE status = 'suspended_budget';

-- One spending limit per scheme: what each accepted application reserves (the scheme's amount), the limit and the
-- article that sets it, and what is reserved so far. The CHECK is the last guard against overshooting.
CREATE TABLE budgets (
    scheme text PRIMARY KEY,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    limit_cents bigint NOT NULL CHECK (limit_cents >= 0),
    legal_ref text NOT NULL,
    reserved_cents bigint NOT NULL DEFAULT 0 CHECK (reserved_cents >= 0),
    CHECK (reserved_cents <= limit_cents)
);

-- Every limit a scheme has had, with the law that set it. Append-only.
CREATE TABLE budget_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scheme text NOT NULL,
    limit_cents bigint NOT NULL,
    legal_ref text NOT NULL,
    set_at timestamptz NOT NULL,
    released bigint NOT NULL       -- suspended applications the change accepted
);

-- One payment run per payment date, with the ordering account it pays from.
CREATE TABLE payment_runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pay_date date NOT NULL UNIQUE,
    debtor_name text NOT NULL,
    debtor_iban text NOT NULL,
    debtor_bic text NOT NULL,
    created_at timestamptz NOT NULL,
    completed_at timestamptz       -- set once its files are written
);

-- A payment of one application in one run, with the account (or cash at a post office) as it stood then.
CREATE TABLE payments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id bigint NOT NULL REFERENCES payment_runs (id),
    application_id bigint NOT NULL REFERENCES applications (id),
    protocol text NOT NULL,
    codice_fiscale text COLLATE "C" NOT NULL,
    scheme text NOT NULL,
    method text NOT NULL CHECK (method IN ('iban', 'domiciliato')),
    iban text,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    -- scheduled | confirmed | returned (reason holds the ISO 20022 code) | superseded (returned, new account given)
    status text NOT NULL CHECK (status IN ('scheduled', 'confirmed', 'returned', 'superseded')),
    reason text,
    updated_at timestamptz NOT NULL,
    CHECK ((method = 'iban') = (iban IS NOT NULL))
);
-- Exactly once: an application has at most one payment that is not superseded.
CREATE UNIQUE INDEX payments_once ON payments (application_id) WHERE status <> 'superseded';
CREATE INDEX payments_run ON payments (run_id, method, id);
CREATE INDEX payments_protocol ON payments (protocol);
CREATE INDEX payments_cf ON payments (codice_fiscale);
