-- A PIN request never revokes a PIN in use (docs/SECURITY.md, "INPS PIN"). A person holds up to four PIN
-- credentials, one per slot; the first symbol of a PIN names its slot, so a login verifies one hash whatever the
-- number of PINs. Each credential remembers where its first half went: to a contact on file, to a contact the
-- requester gave (then what it does is held until the full PIN, posted to the residence, confirms it), or handed over
-- by the institute's office.
CREATE TABLE pin_credentials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    codice_fiscale TEXT NOT NULL,
    slot INTEGER CHECK (slot BETWEEN 0 AND 3), -- NULL: a PIN issued before slots, tried when its slot is empty
    full_hash TEXT NOT NULL,
    simplified_hash TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    first_half_to TEXT NOT NULL CHECK (first_half_to IN ('on_file', 'given', 'office')),
    confirmed_at TEXT,             -- when the full PIN first opened a session, or an officer confirmed the person
    last_used_at TEXT              -- NULL: never opened a session, so a new request may take its slot
) STRICT;
CREATE UNIQUE INDEX pin_credentials_slot ON pin_credentials (codice_fiscale, slot);
-- Where the first halves of the PINs before slots went is unknown: they count as given, which holds payments.
INSERT INTO pin_credentials (codice_fiscale, slot, full_hash, simplified_hash, issued_at, first_half_to)
    SELECT codice_fiscale, NULL, full_hash, simplified_hash, issued_at, 'given' FROM pins;

-- Wrong PINs, counted per person and bucket: 'strangers' for clients the person never logged in from, or the id of
-- a device that did, so that a stranger's failures lock strangers out and not the owner's own device.
CREATE TABLE pin_locks (
    codice_fiscale TEXT NOT NULL,
    bucket TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    locked_until TEXT,
    PRIMARY KEY (codice_fiscale, bucket)
) STRICT, WITHOUT ROWID;
INSERT INTO pin_locks (codice_fiscale, bucket, failures, locked_until)
    SELECT codice_fiscale, 'strangers', failures, locked_until FROM pins WHERE failures > 0 OR locked_until IS NOT NULL;
DROP TABLE pins;

-- Which credential opened a session, and whether it is confirmed: an unconfirmed one's applications are held.
ALTER TABLE sessions ADD COLUMN credential TEXT;
ALTER TABLE sessions ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1));

-- Applications gain "annulled" (the rightful person annulled one made in their name by a PIN whose first half went
-- to a contact not on file) and a hold: the credential whose confirmation releases the payment. SQLite cannot change
-- a CHECK in place, so the table is rebuilt; payments reference it by name, checked when the migration commits.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE applications_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    protocol TEXT UNIQUE,
    codice_fiscale TEXT NOT NULL,
    scheme TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected', 'suspended_budget', 'annulled')),
    reasons TEXT NOT NULL CHECK (json_valid(reasons)),
    details TEXT NOT NULL CHECK (json_valid(details)),
    submitted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    hold TEXT,                     -- e.g. 'pin:42': not paid until that credential is confirmed; NULL: payable
    UNIQUE (codice_fiscale, idempotency_key)
) STRICT;
INSERT INTO applications_new SELECT id, protocol, codice_fiscale, scheme, idempotency_key, status, reasons, details,
    submitted_at, updated_at, NULL FROM applications;
UPDATE sqlite_sequence
SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'applications'), 0))
WHERE name = 'applications_new';
DROP TABLE applications;
ALTER TABLE applications_new RENAME TO applications;
-- Art. 31: a rejected or annulled application does not hold the person's one indemnity.
CREATE UNIQUE INDEX applications_one_per_person ON applications (codice_fiscale)
    WHERE status NOT IN ('rejected', 'annulled');
CREATE INDEX applications_suspended ON applications (scheme, submitted_at, id) WHERE status = 'suspended_budget';
CREATE INDEX applications_held ON applications (codice_fiscale) WHERE hold IS NOT NULL;

-- Letters: the second half of a PIN whose first half went to a contact not on file is posted to the residence on
-- file, through the outbox like any message. The outbox has no references, so it is rebuilt with the channel allowed.
CREATE TABLE outbox_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'console', 'letter')),
    recipient TEXT NOT NULL,       -- for a letter: the name and postal address, one line each
    subject TEXT NOT NULL,
    body TEXT NOT NULL,            -- wiped once delivered: it may carry half a PIN
    not_before TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    leased_until TEXT,             -- a worker holds it until then
    delivered_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL
) STRICT;
INSERT INTO outbox_new SELECT id, channel, recipient, subject, body, not_before, attempts, leased_until, delivered_at,
    last_error, created_at FROM outbox;
UPDATE sqlite_sequence
SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0))
WHERE name = 'outbox_new';
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (not_before, id) WHERE delivered_at IS NULL;
