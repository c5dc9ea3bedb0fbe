-- TLS reports received (issue 16): two organizations may use the same report-id (Google's are the window's date and
-- the policy domain, a scheme others copy), so the organization joins the key: a report is the same report only when
-- its organization, report-id and policy domain all match. PRIMARY KEY cannot be altered in SQLite: the table is
-- made anew and the rows copied. Plain SQL that SQLite and PostgreSQL read alike.
CREATE TABLE tlsrpt_report_v5 (
    gateway       TEXT   NOT NULL,
    at            BIGINT NOT NULL,
    direction     TEXT   NOT NULL,                    -- IN, OUT
    report_id     TEXT   NOT NULL,
    organization  TEXT   NOT NULL DEFAULT '',
    policy_domain TEXT   NOT NULL,
    start_at      BIGINT,
    end_at        BIGINT,
    successful    BIGINT NOT NULL,
    failed        BIGINT NOT NULL,
    peer          TEXT,
    outcome       TEXT,
    report_json   TEXT,
    PRIMARY KEY (gateway, direction, report_id, organization, policy_domain)
);
INSERT INTO tlsrpt_report_v5 (gateway, at, direction, report_id, organization, policy_domain, start_at, end_at,
        successful, failed, peer, outcome, report_json)
    SELECT gateway, at, direction, report_id, COALESCE(organization, ''), policy_domain, start_at, end_at, successful,
        failed, peer, outcome, report_json FROM tlsrpt_report;
DROP TABLE tlsrpt_report;
ALTER TABLE tlsrpt_report_v5 RENAME TO tlsrpt_report;
CREATE INDEX tlsrpt_report_at ON tlsrpt_report (at);
CREATE INDEX tlsrpt_report_domain ON tlsrpt_report (policy_domain, start_at);
