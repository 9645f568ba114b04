-- durable_flows journal schema (PostgreSQL), version 4: the audit trail.
--
-- Same columns as migrations/0004_audit.sql: `journal.hash` chains each entry
-- to the previous entry of its run (see durable_flows/storage/chain.py),
-- `runs.chain_head` is the newest hash, `runs.unchained_upto` how far a run
-- journaled before this migration is unchained, `inbox.origin` who sent an
-- outside event. Search uses PostgreSQL's own full-text search: a GIN index
-- over the same text SQLite's FTS5 table holds (kind, step, event type and
-- payload; snapshot, accepted and completed entries left out), kept by PostgreSQL in the same
-- transaction as the row.

ALTER TABLE journal ADD COLUMN hash TEXT;

ALTER TABLE runs ADD COLUMN chain_head TEXT;

ALTER TABLE runs ADD COLUMN unchained_upto BIGINT;

UPDATE runs SET unchained_upto = last_seq WHERE last_seq > 0;

ALTER TABLE inbox ADD COLUMN origin TEXT;

-- Anything but letters and digits becomes a space first, so that words are
-- cut where SQLite's FTS5 cuts them (PostgreSQL's parser would keep
-- `module.Class` or `a/b` whole as host names and paths).
CREATE INDEX journal_search ON journal USING gin (
    to_tsvector('simple', regexp_replace(
        kind || ' ' || coalesce(step, '') || ' ' || coalesce(event_type, '') || ' ' || payload,
        '[^[:alnum:]]+', ' ', 'g'))
) WHERE kind NOT IN ('snapshot', 'accepted', 'completed');
