-- rampart:phase expand
-- OpenID Connect / OAuth 2.0 protocol state: authorization requests and
-- codes, refresh tokens, opaque access tokens, revocation records, device
-- authorizations, signing keys and application keys.
--
-- Instance-scoped tables are keyed by (instance_id, ...) and go with their
-- instance; rows naming a user go with the user (a NULL user_id, e.g. of a
-- pending request, references nothing). Secrets are stored only as keyed
-- hashes. Times are NULL where the domain has a zero time. Every table has
-- an index on its expiry for the cleanup job.

CREATE TABLE oidc_auth_requests (
	instance_id           TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	id                    TEXT NOT NULL,
	client_id             TEXT NOT NULL,
	redirect_uri          TEXT NOT NULL,
	scopes                TEXT[] NOT NULL DEFAULT '{}',
	state                 TEXT NOT NULL DEFAULT '',
	nonce                 TEXT NOT NULL DEFAULT '',
	response_type         TEXT NOT NULL DEFAULT '',
	response_mode         TEXT NOT NULL DEFAULT '',
	code_challenge        TEXT NOT NULL DEFAULT '',
	code_challenge_method TEXT NOT NULL DEFAULT '',
	prompt                TEXT[] NOT NULL DEFAULT '{}',
	max_age               BIGINT NOT NULL DEFAULT -1,
	login_hint            TEXT NOT NULL DEFAULT '',
	ui_locales            TEXT[] NOT NULL DEFAULT '{}',
	user_id               TEXT,
	auth_time             TIMESTAMPTZ,
	amr                   TEXT[] NOT NULL DEFAULT '{}',
	done                  BOOLEAN NOT NULL DEFAULT false,
	code_hash             BYTEA,
	code_used_at          TIMESTAMPTZ,
	created_at            TIMESTAMPTZ NOT NULL,
	expires_at            TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (instance_id, id),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX oidc_auth_requests_code ON oidc_auth_requests (instance_id, code_hash) WHERE code_hash IS NOT NULL;
CREATE INDEX oidc_auth_requests_user ON oidc_auth_requests (instance_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX oidc_auth_requests_expires ON oidc_auth_requests (expires_at);

CREATE TABLE oidc_refresh_tokens (
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	id          TEXT NOT NULL,
	family_id   TEXT NOT NULL,
	token_hash  BYTEA NOT NULL,
	client_id   TEXT NOT NULL,
	user_id     TEXT,
	scopes      TEXT[] NOT NULL DEFAULT '{}',
	audience    TEXT[] NOT NULL DEFAULT '{}',
	amr         TEXT[] NOT NULL DEFAULT '{}',
	auth_time   TIMESTAMPTZ,
	created_at  TIMESTAMPTZ NOT NULL,
	expires_at  TIMESTAMPTZ NOT NULL,
	used_at     TIMESTAMPTZ,
	PRIMARY KEY (instance_id, id),
	UNIQUE (instance_id, token_hash),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
);
CREATE INDEX oidc_refresh_tokens_family ON oidc_refresh_tokens (instance_id, family_id);
CREATE INDEX oidc_refresh_tokens_user_client ON oidc_refresh_tokens (instance_id, user_id, client_id);
CREATE INDEX oidc_refresh_tokens_expires ON oidc_refresh_tokens (expires_at);

-- Opaque access tokens only; JWT access tokens have no row.
CREATE TABLE oidc_access_tokens (
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	id          TEXT NOT NULL,
	family_id   TEXT NOT NULL,
	client_id   TEXT NOT NULL,
	subject     TEXT NOT NULL,
	scopes      TEXT[] NOT NULL DEFAULT '{}',
	audience    TEXT[] NOT NULL DEFAULT '{}',
	created_at  TIMESTAMPTZ NOT NULL,
	expires_at  TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (instance_id, id)
);
CREATE INDEX oidc_access_tokens_expires ON oidc_access_tokens (expires_at);

-- Revoked token and family IDs, kept until the longest-lived token they
-- could name has expired.
CREATE TABLE oidc_revocations (
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	id          TEXT NOT NULL,
	expires_at  TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (instance_id, id)
);
CREATE INDEX oidc_revocations_expires ON oidc_revocations (expires_at);

CREATE TABLE oidc_device_authorizations (
	instance_id      TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	device_code_hash BYTEA NOT NULL,
	user_code        TEXT NOT NULL,
	client_id        TEXT NOT NULL,
	scopes           TEXT[] NOT NULL DEFAULT '{}',
	state            TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'consumed')),
	user_id          TEXT,
	auth_time        TIMESTAMPTZ,
	amr              TEXT[] NOT NULL DEFAULT '{}',
	created_at       TIMESTAMPTZ NOT NULL,
	expires_at       TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (instance_id, device_code_hash),
	UNIQUE (instance_id, user_code),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
);
CREATE INDEX oidc_device_authorizations_user ON oidc_device_authorizations (instance_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX oidc_device_authorizations_expires ON oidc_device_authorizations (expires_at);

-- Token signing keys are global: all instances share them.
CREATE TABLE oidc_signing_keys (
	id          TEXT PRIMARY KEY,
	generation  BIGINT NOT NULL UNIQUE,
	algorithm   TEXT NOT NULL,
	private_key BYTEA NOT NULL,
	public_key  BYTEA NOT NULL,
	created_at  TIMESTAMPTZ NOT NULL,
	not_before  TIMESTAMPTZ NOT NULL,
	not_after   TIMESTAMPTZ NOT NULL,
	retire_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX oidc_signing_keys_retire ON oidc_signing_keys (retire_at);

-- Public keys of applications for private_key_jwt client authentication.
CREATE TABLE application_keys (
	instance_id TEXT NOT NULL,
	id          TEXT NOT NULL,
	app_id      TEXT NOT NULL,
	public_key  TEXT NOT NULL,
	expires_at  TIMESTAMPTZ, -- NULL: never
	created_at  TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (instance_id, id),
	FOREIGN KEY (instance_id, app_id) REFERENCES applications (instance_id, id) ON DELETE CASCADE
);
CREATE INDEX application_keys_app ON application_keys (instance_id, app_id, id);
-- Keys are stored in canonical PEM: the same key cannot be added twice, even
-- by two concurrent requests.
CREATE UNIQUE INDEX application_keys_unique ON application_keys (instance_id, app_id, public_key);
