-- durable_flows journal schema, version 7: a per-run mark instead of a trigger
-- for entries not yet in the search index.
--
-- Until now the trigger `journal_search_insert` listed every new searchable
-- entry in `journal_search_pending`, in the entry's own transaction: a
-- second B-tree write and a trigger program run per entry, on every commit
-- (about a fifth of a small commit's cost). It is dropped. Instead each run
-- keeps `search_upto`: the highest seq up to which each of its searchable
-- entries is in `journal_fts` or listed in `journal_search_pending`. Every
-- searchable entry of a run with seq > search_upto is not indexed yet. Appends
-- already set `runs.last_seq` in their transaction, so a run has entries
-- waiting exactly when last_seq > search_upto; the partial index
-- `runs_search_behind` lists those runs (it changes once per append, not per
-- entry), and the writer and search read the waiting entries as a range of
-- the journal's primary key. The journal has no rowid (WITHOUT ROWID), so the
-- mark is per run rather than one number for the whole table.
--
-- A deleted run takes its mark with it; a run created again under the same
-- id starts at 0. Deleting a journal row lowers its run's mark below it (the
-- delete trigger), so a row inserted again at that seq is not taken for an
-- indexed one; search and the writer skip entries of the range that are
-- already indexed. `journal_search_pending` stays for entries listed before
-- this version and for entries edited by hand (the update trigger).

-- Highest seq of the run whose searchable entries are all indexed or pending.
ALTER TABLE runs ADD COLUMN search_upto INTEGER NOT NULL DEFAULT 0;

-- Existing entries are indexed or pending already.
UPDATE runs SET search_upto = last_seq;

-- The runs with entries the search index does not have yet.
CREATE INDEX runs_search_behind ON runs (run_id) WHERE last_seq > search_upto;

DROP TRIGGER IF EXISTS journal_search_insert;

-- As in 0005, and a deleted entry moves its run's mark below it (once per
-- run when a whole run is deleted in seq order).
DROP TRIGGER IF EXISTS journal_search_delete;

CREATE TRIGGER journal_search_delete AFTER DELETE ON journal
BEGIN
    UPDATE runs SET search_upto = old.seq - 1
    WHERE run_id = old.run_id AND search_upto >= old.seq;
    DELETE FROM journal_search_pending WHERE run_id = old.run_id AND seq = old.seq;
    INSERT INTO journal_fts (journal_fts, rowid, body)
    SELECT 'delete', d.doc,
           old.kind || ' ' || coalesce(old.step, '') || ' ' || coalesce(old.event_type, '')
               || ' ' || old.payload
    FROM journal_docs d WHERE d.run_id = old.run_id AND d.seq = old.seq;
    DELETE FROM journal_docs WHERE run_id = old.run_id AND seq = old.seq;
END;
