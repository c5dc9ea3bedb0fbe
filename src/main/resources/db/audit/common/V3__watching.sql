-- Issue 16, watching: alert state changes, health probes, and SMTP TLS reports (RFC 8460) sent and received.
-- Plain SQL that SQLite and PostgreSQL read alike.

-- One row per state change of an alert (FIRING, RECOVERED), never one per occurrence.
CREATE TABLE alert (
    gateway   TEXT   NOT NULL,
    at        BIGINT NOT NULL,
    alert_key TEXT   NOT NULL,                        -- what it is about, stable across occurrences
    kind      TEXT   NOT NULL,                        -- AlertRecord.Kind
    subject   TEXT   NOT NULL,
    state     TEXT   NOT NULL,                        -- FIRING, RECOVERED
    summary   TEXT   NOT NULL,
    detail    TEXT,
    PRIMARY KEY (gateway, at, alert_key, state)
);
CREATE INDEX alert_at ON alert (at);
CREATE INDEX alert_key_at ON alert (alert_key, at);

CREATE TABLE probe (
    gateway        TEXT     NOT NULL,
    at             BIGINT   NOT NULL,
    domain         TEXT     NOT NULL,
    ok             SMALLINT NOT NULL,
    trigger_by     TEXT     NOT NULL,                 -- "scheduled" or who asked
    policy_level   TEXT,
    policy_source  TEXT,
    host           TEXT,
    ip             TEXT,
    port           INTEGER  NOT NULL,
    tls_session_id TEXT,
    protocol       TEXT,
    cipher         TEXT,
    verification   TEXT,
    problem        TEXT,
    hosts_tried    TEXT     NOT NULL,                 -- JSON array
    millis         BIGINT   NOT NULL,
    PRIMARY KEY (gateway, at, domain, trigger_by)
);
CREATE INDEX probe_domain_at ON probe (domain, at);
CREATE INDEX probe_at ON probe (at);

-- Reports we sent (OUT) and received (IN); the report JSON is kept (uncompressed).
CREATE TABLE tlsrpt_report (
    gateway       TEXT   NOT NULL,
    at            BIGINT NOT NULL,
    direction     TEXT   NOT NULL,                    -- IN, OUT
    report_id     TEXT   NOT NULL,
    organization  TEXT,
    policy_domain TEXT   NOT NULL,
    start_at      BIGINT,
    end_at        BIGINT,
    successful    BIGINT NOT NULL,
    failed        BIGINT NOT NULL,
    peer          TEXT,
    outcome       TEXT,
    report_json   TEXT,
    PRIMARY KEY (gateway, direction, report_id, policy_domain)
);
CREATE INDEX tlsrpt_report_at ON tlsrpt_report (at);
CREATE INDEX tlsrpt_report_domain ON tlsrpt_report (policy_domain, start_at);
