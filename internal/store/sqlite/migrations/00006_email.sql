-- rampart:phase expand
-- E-mail delivery: the SMTP server of each instance (at most one; without
-- one, the server's configured default applies). The password is stored
-- only encrypted with the master key (NULL: no password). The mail queue
-- itself is River's job table.
--
-- Times are unix microseconds (UTC).

CREATE TABLE smtp_settings (
	instance_id        TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	host               TEXT NOT NULL,
	port               INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
	username           TEXT NOT NULL DEFAULT '',
	password_encrypted BLOB,
	from_address       TEXT NOT NULL,
	from_name          TEXT NOT NULL DEFAULT '',
	tls_mode           TEXT NOT NULL CHECK (tls_mode IN ('starttls', 'tls', 'none')),
	created_at         INTEGER NOT NULL,
	changed_at         INTEGER NOT NULL,
	version            INTEGER NOT NULL,
	PRIMARY KEY (instance_id)
) STRICT;
