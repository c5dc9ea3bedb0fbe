-- RFC 8689 §3: the message's header section had "TLS-Required: No" (and MAIL FROM no REQUIRETLS), so recipient-side
-- TLS policies (DANE, MTA-STS, the downgrade memory) did not stop its delivery. Rows written before this column read
-- 0: such messages were handled without regard to the header. Plain SQL that SQLite and PostgreSQL read alike.
ALTER TABLE message ADD COLUMN tls_required_no SMALLINT NOT NULL DEFAULT 0;
