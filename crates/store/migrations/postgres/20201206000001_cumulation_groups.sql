-- Cumulation groups. Art. 31 DL 18/2020 made the five March indemnities (arts. 27-30 and 38) one group: a person
-- holds at most one of them. DL 34/2020 art. 84 adds indemnities for April and May that a March beneficiary may also
-- have, each month a group of its own. So the rule becomes: at most one application per person and cumulation group
-- holds an indemnity; rejected and annulled ones are kept and do not count.
--
-- Every application stored so far is for one of DL 18's five March schemes, hence of group 'dl18-2020-marzo'. The
-- default only fills the existing rows: dropped at once, so an insert that does not say its group fails instead of
-- landing in March's.
ALTER TABLE applications ADD COLUMN cumulation_group text NOT NULL DEFAULT 'dl18-2020-marzo';
ALTER TABLE applications ALTER COLUMN cumulation_group DROP DEFAULT;
DROP INDEX applications_one_per_person;
CREATE UNIQUE INDEX applications_one_per_group ON applications (codice_fiscale, cumulation_group)
    WHERE status NOT IN ('rejected', 'annulled');
