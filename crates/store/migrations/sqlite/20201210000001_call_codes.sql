-- One-time codes that identify a caller to the Contact Center: sent to a contact on file, kept only hashed, for one
-- call and one caller, until they expire, are used, or are tried too often.
CREATE TABLE call_codes (
    call_id TEXT NOT NULL,
    caller TEXT NOT NULL,              -- the caller's codice fiscale
    operator TEXT NOT NULL,            -- the operator on the call
    code_hash TEXT NOT NULL,           -- hex SHA-256 of the call, the caller and the code
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (call_id, caller)
);
CREATE INDEX call_codes_expiry ON call_codes (expires_at);
