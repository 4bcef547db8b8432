-- rampart:phase expand
-- State of the hosted login: browser sessions, second factors (TOTP
-- authenticators, recovery codes, WebAuthn credentials and user handles),
-- e-mail one-time-code challenges and failed-login counters.
--
-- Every table is keyed by (instance_id, ...) and goes with its instance;
-- rows naming a user go with the user (an anonymous session's NULL user_id
-- references nothing). Secrets are stored only as keyed hashes (session
-- tokens, recovery and e-mail codes) or master-key ciphertexts (TOTP
-- secrets). Times are unix microseconds (UTC), NULL where the domain has a
-- zero time; booleans 0/1, lists JSON arrays.

CREATE TABLE login_sessions (
	instance_id          TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	id                   TEXT NOT NULL,
	token_hash           BLOB NOT NULL,
	user_id              TEXT,
	login_name           TEXT NOT NULL DEFAULT '',
	password_verified_at INTEGER,
	mfa_verified_at      INTEGER,
	amr                  TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(amr)),
	created_at           INTEGER NOT NULL,
	last_seen_at         INTEGER NOT NULL,
	expires_at           INTEGER NOT NULL,
	-- Never later than expires_at, so the cleanup needs this index only.
	idle_expires_at      INTEGER NOT NULL CHECK (idle_expires_at <= expires_at),
	user_agent           TEXT NOT NULL DEFAULT '',
	ip                   TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (instance_id, id),
	UNIQUE (instance_id, token_hash),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX login_sessions_user ON login_sessions (instance_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX login_sessions_idle_expires ON login_sessions (idle_expires_at);

-- At most one TOTP authenticator per user.
CREATE TABLE totp_factors (
	instance_id      TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	id               TEXT NOT NULL,
	user_id          TEXT NOT NULL,
	secret_encrypted BLOB NOT NULL,
	verified         INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
	last_used_step   INTEGER NOT NULL DEFAULT 0,
	created_at       INTEGER NOT NULL,
	PRIMARY KEY (instance_id, id),
	UNIQUE (instance_id, user_id),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
) STRICT;

-- Unused recovery codes; a code is deleted when it is used.
CREATE TABLE recovery_codes (
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	user_id     TEXT NOT NULL,
	code_hash   BLOB NOT NULL,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (instance_id, user_id, code_hash),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
) STRICT;

-- The stable random WebAuthn user handle (user.id) of each user.
CREATE TABLE webauthn_user_handles (
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	user_id     TEXT NOT NULL,
	handle      BLOB NOT NULL,
	PRIMARY KEY (instance_id, user_id),
	UNIQUE (instance_id, handle),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE webauthn_credentials (
	instance_id      TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	id               TEXT NOT NULL,
	user_id          TEXT NOT NULL,
	credential_id    BLOB NOT NULL,
	public_key       BLOB NOT NULL,
	attestation_type TEXT NOT NULL DEFAULT '',
	aaguid           BLOB,
	sign_count       INTEGER NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
	transports       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(transports)),
	attachment       TEXT NOT NULL DEFAULT '',
	user_present     INTEGER NOT NULL DEFAULT 0 CHECK (user_present IN (0, 1)),
	user_verified    INTEGER NOT NULL DEFAULT 0 CHECK (user_verified IN (0, 1)),
	backup_eligible  INTEGER NOT NULL DEFAULT 0 CHECK (backup_eligible IN (0, 1)),
	backup_state     INTEGER NOT NULL DEFAULT 0 CHECK (backup_state IN (0, 1)),
	name             TEXT NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL,
	last_used_at     INTEGER,
	PRIMARY KEY (instance_id, id),
	UNIQUE (instance_id, credential_id),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (instance_id, user_id, id);

-- At most one live e-mail code per user.
CREATE TABLE email_otp_challenges (
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	user_id     TEXT NOT NULL,
	code_hash   BLOB NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	PRIMARY KEY (instance_id, user_id),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX email_otp_challenges_expires ON email_otp_challenges (expires_at);

-- Failed logins since the last success or unlock, per kind ('password',
-- 'otp'), for lockout.
CREATE TABLE login_failures (
	instance_id    TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	user_id        TEXT NOT NULL,
	kind           TEXT NOT NULL CHECK (kind IN ('password', 'otp')),
	failed_count   INTEGER NOT NULL DEFAULT 0,
	last_failed_at INTEGER,
	PRIMARY KEY (instance_id, user_id, kind),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
) STRICT;
