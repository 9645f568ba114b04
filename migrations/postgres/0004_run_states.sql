-- durable_flows PostgreSQL journal schema, version 4: where each run really
-- stands (same columns and rules as SQLite's 0004_run_states.sql; lease
-- expiry is judged by the server's clock).
CREATE VIEW run_states AS
SELECT
    r.run_id,
    r.workflow,
    r.status,
    CASE
        WHEN r.status IN ('completed', 'failed', 'cancelled', 'timed_out') THEN r.status
        WHEN r.owner IS NOT NULL
             AND r.lease_expires > extract(epoch FROM clock_timestamp()) THEN r.status
        WHEN r.status = 'waiting' THEN 'parked'
        WHEN r.parent_run_id IS NOT NULL AND r.forked_at_seq IS NOT NULL
             AND r.last_seq <= r.forked_at_seq THEN 'queued'
        WHEN r.parent_run_id IS NULL AND r.last_seq <= 2 THEN 'queued'
        ELSE 'orphaned'
    END AS state,
    r.owner,
    r.lease_expires,
    r.waiting_for,
    r.updated_at,
    durable_flows_iso(r.updated_at) AS last_activity_at
FROM runs r;
