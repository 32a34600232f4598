-- The dashboard counts applications by the minute they were submitted in, over the last hour.
CREATE INDEX applications_submitted_at ON applications (submitted_at);
