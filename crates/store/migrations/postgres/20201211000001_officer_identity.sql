-- An officer may log in with SPID or CIE: the codice fiscale the provider vouches for names their account.
-- NULL for an account that logs in with its password only; never two accounts for one person.
ALTER TABLE officers ADD COLUMN codice_fiscale TEXT;
CREATE UNIQUE INDEX officers_codice_fiscale ON officers (codice_fiscale);
-- How the officer logged in (`password`, `spid_l2`, `spid_l3`, `cie`): the audit rows of their views say it.
ALTER TABLE office_sessions ADD COLUMN login_method TEXT NOT NULL DEFAULT 'password';
