-- durable_flows journal schema, version 4: the audit trail.
--
-- Tamper evidence: every journal entry written from now on carries `hash`,
-- chaining it to the previous entry of its run (durable_flows/storage/chain.py
-- says what is hashed); the store computes it in the transaction that writes
-- the row and keeps the newest in `runs.chain_head`. Entries journaled before
-- this migration have no hash: each existing run records how far its journal
-- was unchained (`runs.unchained_upto`), so `durable-flows verify` reports
-- them as "unchained up to seq N" and any later entry without a hash as a break.
--
-- Provenance: `inbox.origin` says who sent an outside event (host, process,
-- OS user, the API or CLI used, the application's actor), as JSON text.
--
-- Search: `journal_fts`, an FTS5 index over each entry's kind, step, event
-- type and payload text. Entries of kinds `snapshot` (a copy of the whole
-- state), `accepted` and `completed` (ids, attempt numbers, durations) are
-- not indexed (durable_flows/storage/_search_text.py: UNINDEXED_KINDS).
-- FTS5 pays a fixed cost per transaction that touches it (it writes a new
-- index segment), about as much as the rest of a one-step commit; so a
-- trigger records each new entry in `journal_search_pending`, in the same
-- transaction as the entry, and the store's writer moves pending entries into
-- the index in batches (when it is idle, or every few hundred entries).
-- Search reads the index and scans the pending entries, so it always sees
-- every committed entry. The index stores no copy of the text (its content is
-- the view `journal_text`); `journal_docs` gives each indexed entry the
-- integer id FTS5 needs. Existing entries are indexed here.

-- Hash of the entry, chained to the previous entry of its run ('s:' SHA-256
-- or 'h:' HMAC-SHA256, hex); NULL for entries journaled before version 4.
ALTER TABLE journal ADD COLUMN hash TEXT;

-- Hash of the run's newest journal entry; NULL while it has none chained.
ALTER TABLE runs ADD COLUMN chain_head TEXT;

-- last_seq of the run when the journal became chained (version 4); NULL for
-- runs created since, whose every entry is chained.
ALTER TABLE runs ADD COLUMN unchained_upto INTEGER;

UPDATE runs SET unchained_upto = last_seq WHERE last_seq > 0;

-- Who sent the event, as JSON: host, pid, user, via (api/cli), actor.
ALTER TABLE inbox ADD COLUMN origin TEXT;

-- One row per indexed journal entry: its id in journal_fts.
CREATE TABLE journal_docs (
    doc    INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    UNIQUE (run_id, seq)
);

-- The text of each indexed entry, as the index reads it (snippets, rebuilds).
CREATE VIEW journal_text AS
SELECT d.doc AS doc,
       j.kind || ' ' || coalesce(j.step, '') || ' ' || coalesce(j.event_type, '') || ' ' || j.payload AS body
FROM journal_docs d JOIN journal j ON j.run_id = d.run_id AND j.seq = d.seq;

-- Full-text index of journal_text (rowid = journal_docs.doc). detail=none:
-- queries are sets of words (no phrases), so token positions are not kept.
CREATE VIRTUAL TABLE journal_fts USING fts5 (
    body, content = 'journal_text', content_rowid = 'doc', detail = none
);

-- Entries journaled but not yet in journal_fts.
-- How many indexed entries hold each word: search ranks by relevance (bm25,
-- which reads every match) only when its rarest word is in few entries.
CREATE VIRTUAL TABLE journal_fts_vocab USING fts5vocab (journal_fts, row);

CREATE TABLE journal_search_pending (
    run_id TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TRIGGER journal_search_insert AFTER INSERT ON journal
WHEN new.kind NOT IN ('snapshot', 'accepted', 'completed')
BEGIN
    INSERT INTO journal_search_pending (run_id, seq) VALUES (new.run_id, new.seq);
END;

-- An external-content index forgets a row when told its old text.
CREATE TRIGGER journal_search_delete AFTER DELETE ON journal
WHEN old.kind NOT IN ('snapshot', 'accepted', 'completed')
BEGIN
    DELETE FROM journal_search_pending WHERE run_id = old.run_id AND seq = old.seq;
    INSERT INTO journal_fts (journal_fts, rowid, body)
    SELECT 'delete', d.doc,
           old.kind || ' ' || coalesce(old.step, '') || ' ' || coalesce(old.event_type, '')
               || ' ' || old.payload
    FROM journal_docs d WHERE d.run_id = old.run_id AND d.seq = old.seq;
    DELETE FROM journal_docs WHERE run_id = old.run_id AND seq = old.seq;
END;

-- Journal rows are never updated by durable_flows; one edited by hand is
-- indexed again (and `verify` reports the edit).
CREATE TRIGGER journal_search_update AFTER UPDATE ON journal
BEGIN
    DELETE FROM journal_search_pending WHERE run_id = old.run_id AND seq = old.seq;
    INSERT INTO journal_fts (journal_fts, rowid, body)
    SELECT 'delete', d.doc,
           old.kind || ' ' || coalesce(old.step, '') || ' ' || coalesce(old.event_type, '')
               || ' ' || old.payload
    FROM journal_docs d WHERE d.run_id = old.run_id AND d.seq = old.seq;
    DELETE FROM journal_docs WHERE run_id = old.run_id AND seq = old.seq;
    INSERT INTO journal_search_pending (run_id, seq) SELECT new.run_id, new.seq
    WHERE new.kind NOT IN ('snapshot', 'accepted', 'completed');
END;

INSERT INTO journal_docs (run_id, seq)
SELECT run_id, seq FROM journal
WHERE kind NOT IN ('snapshot', 'accepted', 'completed') ORDER BY run_id, seq;

INSERT INTO journal_fts (journal_fts) VALUES ('rebuild');
