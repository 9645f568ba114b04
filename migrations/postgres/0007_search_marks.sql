-- durable_flows journal schema (PostgreSQL), version 7: nothing to change.
--
-- migrations/0007_search_marks.sql replaces SQLite's per-entry trigger for
-- the search index by a mark per run. PostgreSQL's search index (the GIN
-- index `journal_search` of version 5) is kept up to date by PostgreSQL in
-- the transaction that writes each entry: it has nothing waiting and no mark.
-- This file keeps the two backends' version numbers the same, so that a
-- journal's version means the same schema on either.

SELECT 1;
