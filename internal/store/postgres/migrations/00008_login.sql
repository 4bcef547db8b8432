-- rampart:phase expand
-- State of the hosted login: browser sessions, second factors (TOTP
-- authenticators, recovery codes, WebAuthn credentials and user handles),
-- e-mail one-time-code challenges and failed-login counters.
--
-- Every table is keyed by (instance_id, ...) and goes with its instance;
-- rows naming a user go with the user (an anonymous session's NULL user_id
-- references nothing). Secrets are stored only as keyed hashes (session
-- tokens, recovery and e-mail codes) or master-key ciphertexts (TOTP
-- secrets). Times are NULL where the domain has a zero time.

CREATE TABLE login_sessions (
	instance_id          TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	id                   TEXT NOT NULL,
	token_hash           BYTEA NOT NULL,
	user_id              TEXT,
	login_name           TEXT NOT NULL DEFAULT '',
	password_verified_at TIMESTAMPTZ,
	mfa_verified_at      TIMESTAMPTZ,
	amr                  TEXT[] NOT NULL DEFAULT '{}',
	created_at           TIMESTAMPTZ NOT NULL,
	last_seen_at         TIMESTAMPTZ NOT NULL,
	expires_at           TIMESTAMPTZ NOT NULL,
	-- Never later than expires_at, so the cleanup needs this index only.
	idle_expires_at      TIMESTAMPTZ NOT NULL CHECK (idle_expires_at <= expires_at),
	user_agent           TEXT NOT NULL DEFAULT '',
	ip                   TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (instance_id, id),
	UNIQUE (instance_id, token_hash),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
);
CREATE INDEX login_sessions_user ON login_sessions (instance_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX login_sessions_idle_expires ON login_sessions (idle_expires_at);

-- At most one TOTP authenticator per user.
CREATE TABLE totp_factors (
	instance_id      TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	id               TEXT NOT NULL,
	user_id          TEXT NOT NULL,
	secret_encrypted BYTEA NOT NULL,
	verified         BOOLEAN NOT NULL DEFAULT false,
	last_used_step   BIGINT NOT NULL DEFAULT 0,
	created_at       TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (instance_id, id),
	UNIQUE (instance_id, user_id),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
);

-- Unused recovery codes; a code is deleted when it is used.
CREATE TABLE recovery_codes (
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	user_id     TEXT NOT NULL,
	code_hash   BYTEA NOT NULL,
	created_at  TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (instance_id, user_id, code_hash),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
);

-- The stable random WebAuthn user handle (user.id) of each user.
CREATE TABLE webauthn_user_handles (
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	user_id     TEXT NOT NULL,
	handle      BYTEA NOT NULL,
	PRIMARY KEY (instance_id, user_id),
	UNIQUE (instance_id, handle),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
);

CREATE TABLE webauthn_credentials (
	instance_id      TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	id               TEXT NOT NULL,
	user_id          TEXT NOT NULL,
	credential_id    BYTEA NOT NULL,
	public_key       BYTEA NOT NULL,
	attestation_type TEXT NOT NULL DEFAULT '',
	aaguid           BYTEA,
	sign_count       BIGINT NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
	transports       TEXT[] NOT NULL DEFAULT '{}',
	attachment       TEXT NOT NULL DEFAULT '',
	user_present     BOOLEAN NOT NULL DEFAULT false,
	user_verified    BOOLEAN NOT NULL DEFAULT false,
	backup_eligible  BOOLEAN NOT NULL DEFAULT false,
	backup_state     BOOLEAN NOT NULL DEFAULT false,
	name             TEXT NOT NULL DEFAULT '',
	created_at       TIMESTAMPTZ NOT NULL,
	last_used_at     TIMESTAMPTZ,
	PRIMARY KEY (instance_id, id),
	UNIQUE (instance_id, credential_id),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (instance_id, user_id, id);

-- At most one live e-mail code per user.
CREATE TABLE email_otp_challenges (
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	user_id     TEXT NOT NULL,
	code_hash   BYTEA NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	created_at  TIMESTAMPTZ NOT NULL,
	expires_at  TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (instance_id, user_id),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
);
CREATE INDEX email_otp_challenges_expires ON email_otp_challenges (expires_at);

-- Failed logins since the last success or unlock, per kind ('password',
-- 'otp'), for lockout.
CREATE TABLE login_failures (
	instance_id    TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	user_id        TEXT NOT NULL,
	kind           TEXT NOT NULL CHECK (kind IN ('password', 'otp')),
	failed_count   INTEGER NOT NULL DEFAULT 0,
	last_failed_at TIMESTAMPTZ,
	PRIMARY KEY (instance_id, user_id, kind),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
);
