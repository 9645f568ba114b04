-- durable_flows journal schema for PostgreSQL, version 3: where a run's latest snapshot is.
--
-- The live loop journals, now and then, a `snapshot` entry holding the run's
-- whole folded state (see durable_flows/runtime/snapshot.py); a resume reads
-- the journal from the latest one on instead of from seq 1. This column names
-- it, set in the same transaction as the append that wrote it. Runs journaled
-- before this migration have none (NULL) and replay in full, as before.
--
-- The views of 0002_views need no change: they pick entries by kind, and a
-- `snapshot` entry is no event, step attempt or failure (`run_summary.entries`
-- counts every journal row, snapshots included, as `runs.last_seq` does).

-- seq of the run's latest `snapshot` journal entry; NULL when it has none.
ALTER TABLE runs ADD COLUMN snapshot_seq BIGINT;
