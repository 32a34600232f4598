-- A PIN request never revokes a PIN in use (docs/SECURITY.md, "INPS PIN"). A person holds up to four PIN
-- credentials, one per slot; the first symbol of a PIN names its slot, so a login verifies one hash whatever the
-- number of PINs. Each credential remembers where its first half went: to a contact on file, to a contact the
-- requester gave (then what it does is held until the full PIN, posted to the residence, confirms it), or handed over
-- by the institute's office.
CREATE TABLE pin_credentials (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    codice_fiscale text COLLATE "C" NOT NULL,
    slot smallint CHECK (slot BETWEEN 0 AND 3), -- NULL: a PIN issued before slots, tried when its slot is empty
    full_hash text NOT NULL,
    simplified_hash text NOT NULL,
    issued_at timestamptz NOT NULL,
    first_half_to text NOT NULL CHECK (first_half_to IN ('on_file', 'given', 'office')),
    confirmed_at timestamptz,      -- when the full PIN first opened a session, or an officer confirmed the person
    last_used_at timestamptz       -- NULL: never opened a session, so a new request may take its slot
);
CREATE UNIQUE INDEX pin_credentials_slot ON pin_credentials (codice_fiscale, slot);
CREATE INDEX pin_credentials_cf ON pin_credentials (codice_fiscale);
-- Where the first halves of the PINs before slots went is unknown: they count as given, which holds payments.
INSERT INTO pin_credentials (codice_fiscale, slot, full_hash, simplified_hash, issued_at, first_half_to)
    SELECT codice_fiscale, NULL, full_hash, simplified_hash, issued_at, 'given' FROM pins;

-- Wrong PINs, counted per person and bucket: 'strangers' for clients the person never logged in from, or the id of
-- a device that did, so that a stranger's failures lock strangers out and not the owner's own device.
CREATE TABLE pin_locks (
    codice_fiscale text COLLATE "C" NOT NULL,
    bucket text NOT NULL,
    failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    locked_until timestamptz,
    PRIMARY KEY (codice_fiscale, bucket)
);
INSERT INTO pin_locks (codice_fiscale, bucket, failures, locked_until)
    SELECT codice_fiscale, 'strangers', failures, locked_until FROM pins WHERE failures > 0 OR locked_until IS NOT NULL;
DROP TABLE pins;

-- Which credential opened a session, and whether it is confirmed: an unconfirmed one's applications are held.
ALTER TABLE sessions ADD COLUMN credential text, ADD COLUMN confirmed boolean NOT NULL DEFAULT false;

-- Applications gain "annulled" (the rightful person annulled one made in their name by a PIN whose first half went
-- to a contact not on file) and a hold: the credential whose confirmation releases the payment.
ALTER TABLE applications DROP CONSTRAINT applications_status_check,
    ADD CONSTRAINT applications_status_check
        CHECK (status IN ('accepted', 'rejected', 'suspended_budget', 'annulled')),
    ADD COLUMN hold text;          -- e.g. 'pin:42': not paid until that credential is confirmed; NULL: payable
DROP INDEX applications_one_per_person;
-- Art. 31: a rejected or annulled application does not hold the person's one indemnity.
CREATE UNIQUE INDEX applications_one_per_person ON applications (codice_fiscale)
    WHERE status NOT IN ('rejected', 'annulled');
CREATE INDEX applications_held ON applications (codice_fiscale) WHERE hold IS NOT NULL;

-- Letters: the second half of a PIN whose first half went to a contact not on file is posted to the residence on
-- file, through the outbox like any message.
ALTER TABLE outbox DROP CONSTRAINT outbox_channel_check,
    ADD CONSTRAINT outbox_channel_check CHECK (channel IN ('email', 'sms', 'console', 'letter'));
