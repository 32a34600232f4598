-- Cumulation groups. Art. 31 DL 18/2020 made the five March indemnities (arts. 27-30 and 38) one group: a person
-- holds at most one of them. DL 34/2020 art. 84 adds indemnities for April and May that a March beneficiary may also
-- have, each month a group of its own. So the rule becomes: at most one application per person and cumulation group
-- holds an indemnity; rejected and annulled ones are kept and do not count.
--
-- Every application stored so far is for one of DL 18's five March schemes, hence of group 'dl18-2020-marzo', which
-- the default writes into every existing row. The default stays: SQLite drops a default only by rebuilding the table,
-- and payments reference this one, so dropping it inside the migration's transaction (foreign keys on, where they
-- cannot be turned off) would leave every payment counted as a broken reference at commit. The store names the group
-- of every application it inserts.
ALTER TABLE applications ADD COLUMN cumulation_group TEXT NOT NULL DEFAULT 'dl18-2020-marzo';
DROP INDEX applications_one_per_person;
CREATE UNIQUE INDEX applications_one_per_group ON applications (codice_fiscale, cumulation_group)
    WHERE status NOT IN ('rejected', 'annulled');
