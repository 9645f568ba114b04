-- durable_flows journal schema (PostgreSQL), version 6: how worker processes died.
--
-- Same table as migrations/0006_process_deaths.sql: one row per abnormal end
-- of a supervised worker child (exit status or signal, faulthandler's report
-- head), looked up by host and pid when a run that process held is resumed.

CREATE TABLE process_deaths (
    host        TEXT NOT NULL,
    pid         BIGINT NOT NULL,
    started_at  DOUBLE PRECISION NOT NULL,
    ended_at    DOUBLE PRECISION NOT NULL,
    exit_code   INTEGER,
    signal      TEXT,
    fatal_error TEXT,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (host, pid, ended_at)
);
