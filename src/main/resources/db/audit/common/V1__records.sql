-- The audit records (dev.postern.audit). Times are epoch milliseconds; list-valued fields that no query looks into
-- are JSON arrays of strings. Every table but certificate carries the gateway that wrote the row, so several gateways
-- can share one database; certificate is keyed by the certificate's own hash and shared by them.
-- Plain SQL that SQLite and PostgreSQL read alike. A later migration that needs one vendor's dialect goes to
-- db/audit/sqlite or db/audit/postgresql (JdbcAuditStore adds that location when it exists), one file in each
-- with the same version.

CREATE TABLE tls_session (
    gateway              TEXT    NOT NULL,
    id                   TEXT    NOT NULL,
    at                   BIGINT  NOT NULL,
    direction            TEXT    NOT NULL,            -- IN, OUT
    endpoint             TEXT,
    peer_ip              TEXT,
    peer_port            INTEGER NOT NULL,
    ehlo_name            TEXT,
    reverse_dns          TEXT,
    protocol             TEXT,                        -- null: clear text
    cipher               TEXT,
    cipher_bits          INTEGER NOT NULL,
    key_exchange_group   TEXT,
    resumed              SMALLINT NOT NULL,
    sni                  TEXT,
    verification         TEXT    NOT NULL,            -- VERIFIED, FAILED, NOT_CHECKED
    verification_reason  TEXT,
    client_certificate   TEXT,
    no_tls               TEXT,
    no_tls_detail        TEXT,
    policy_level         TEXT,                        -- policy_* all null: no policy recorded
    policy_source        TEXT,
    policy_source_detail TEXT,
    policy_mode          TEXT,
    policy_would_fail    TEXT,                        -- JSON array; null exactly when there is no policy
    PRIMARY KEY (gateway, id)
);
CREATE INDEX tls_session_at ON tls_session (at, direction);

-- Every certificate of a session's peer chain, leaf at position 0.
CREATE TABLE session_certificate (
    gateway     TEXT    NOT NULL,
    session_id  TEXT    NOT NULL,
    position    INTEGER NOT NULL,
    subject     TEXT,
    sans        TEXT    NOT NULL,                     -- JSON array
    issuer      TEXT,
    not_before  BIGINT,
    not_after   BIGINT,
    key_type    TEXT,
    key_bits    INTEGER NOT NULL,
    sha256      TEXT    NOT NULL,
    spki_sha256 TEXT,
    PRIMARY KEY (gateway, session_id, position)
);
CREATE INDEX session_certificate_sha256 ON session_certificate (sha256);
CREATE INDEX session_certificate_not_after ON session_certificate (not_after);

-- The whole leaf certificate, once per distinct certificate.
CREATE TABLE certificate (
    sha256 TEXT NOT NULL PRIMARY KEY,
    pem    TEXT NOT NULL
);

CREATE TABLE message (
    gateway            TEXT    NOT NULL,
    queue_id           TEXT    NOT NULL,
    at                 BIGINT  NOT NULL,
    message_id         TEXT,                          -- without angle brackets
    sender             TEXT    NOT NULL,
    sender_domain      TEXT    NOT NULL,              -- "" for the null reverse path
    size               BIGINT  NOT NULL,
    session_id         TEXT,
    client_ip          TEXT,
    ehlo_name          TEXT,
    auth_user          TEXT,
    client_certificate TEXT,
    require_tls        SMALLINT NOT NULL,
    origin             TEXT    NOT NULL,
    PRIMARY KEY (gateway, queue_id)
);
CREATE INDEX message_message_id ON message (message_id);
CREATE INDEX message_at ON message (at, sender_domain);

CREATE TABLE message_recipient (
    gateway   TEXT    NOT NULL,
    queue_id  TEXT    NOT NULL,
    position  INTEGER NOT NULL,
    recipient TEXT    NOT NULL,
    at        BIGINT  NOT NULL,                       -- the message's, for "to this recipient since"
    PRIMARY KEY (gateway, queue_id, position)
);
CREATE INDEX message_recipient_recipient ON message_recipient (recipient, at);

CREATE TABLE delivery (
    gateway        TEXT    NOT NULL,
    queue_id       TEXT    NOT NULL,
    recipient      TEXT    NOT NULL,
    attempt        INTEGER NOT NULL,
    at             BIGINT  NOT NULL,
    domain         TEXT    NOT NULL,                  -- the recipient's
    mx_host        TEXT,
    mx_preference  INTEGER NOT NULL,
    ip             TEXT,
    port           INTEGER NOT NULL,
    tls_session_id TEXT,
    no_tls_reason  TEXT,
    replies        TEXT    NOT NULL,                  -- JSON array
    outcome        TEXT    NOT NULL,                  -- DELIVERED, DEFERRED, BOUNCED
    status         TEXT,
    reason         TEXT,
    dsn_queue_id   TEXT,
    hosts_tried    TEXT    NOT NULL,                  -- JSON array
    PRIMARY KEY (gateway, queue_id, recipient, attempt)
);
CREATE INDEX delivery_at ON delivery (at, domain);
CREATE INDEX delivery_domain ON delivery (domain, at);
CREATE INDEX delivery_session ON delivery (gateway, tls_session_id);
CREATE INDEX delivery_recipient ON delivery (recipient, at);

CREATE TABLE admin_action (
    gateway TEXT   NOT NULL,
    at      BIGINT NOT NULL,
    actor   TEXT   NOT NULL,
    action  TEXT   NOT NULL,
    target  TEXT   NOT NULL,                          -- "" when the record named none
    detail  TEXT,
    PRIMARY KEY (gateway, at, actor, action, target)
);
CREATE INDEX admin_action_at ON admin_action (at);
CREATE INDEX message_session ON message (gateway, session_id);
