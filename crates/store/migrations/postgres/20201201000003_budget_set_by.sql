-- Who set each limit (issue 14): an operator's name given to `sportello budget set --by`, or the account that ran it.
-- Limits recorded before, and those taken from a scheme file, name nobody.
ALTER TABLE budget_history ADD COLUMN set_by text;
