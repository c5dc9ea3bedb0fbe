-- SMTP TLS reports that Postern sends (RFC 8460): an outbound session's policy domain (the recipient domain whose
-- policy it was held to), the report's policy-type it counts under ("tlsa", "sts", "no-policy-found"), and its
-- result-type when it failed (RFC 8460 §4.3). A session that failed its policy's checks may have no delivery naming
-- it, so the domain is kept on the session itself. Rows written before this migration read null: not reported.
-- Plain SQL that SQLite and PostgreSQL read alike.
ALTER TABLE tls_session ADD COLUMN policy_domain TEXT;
ALTER TABLE tls_session ADD COLUMN policy_type TEXT;
ALTER TABLE tls_session ADD COLUMN result_type TEXT;
CREATE INDEX tls_session_policy_domain ON tls_session (policy_domain, at);
