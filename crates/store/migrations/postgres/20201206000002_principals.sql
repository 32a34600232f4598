-- Who acts, for whom, by which door. A session records its principal: its kind (a browser's cookie or an API's bearer
-- token, never interchangeable), the actor (who acts, e.g. 'citizen:RSSMRA80A01H501U', later 'operator:…'), how they
-- logged in, and the channel they came by. codice_fiscale stays, as the subject: whose data the session acts on.
--
-- The sessions stored so far cannot say how they were opened, so they are deleted: those users log in again.
DELETE FROM sessions;
ALTER TABLE sessions
    ADD COLUMN kind text NOT NULL CHECK (kind IN ('cookie', 'bearer')),
    ADD COLUMN actor text NOT NULL,
    ADD COLUMN login_method text NOT NULL
        CHECK (login_method IN ('pin_simplified', 'pin_full', 'spid_l2', 'spid_l3', 'cie', 'cns')),
    ADD COLUMN channel text NOT NULL CHECK (channel IN ('citizen', 'intermediary', 'contact_center', 'back_office'));

-- An audit row says by which login and door its actor came: NULL login method for the system's own actions. Rows
-- written so far cannot say; they take 'citizen', the only channel there was (an officer's confirmation from the
-- command line also wrote rows, its actor naming the officer).
ALTER TABLE audit_log ADD COLUMN login_method text, ADD COLUMN channel text NOT NULL DEFAULT 'citizen';
