-- rampart:phase expand
-- OpenID Connect / OAuth 2.0 protocol state: authorization requests and
-- codes, refresh tokens, opaque access tokens, revocation records, device
-- authorizations, signing keys and application keys.
--
-- Instance-scoped tables are keyed by (instance_id, ...) and go with their
-- instance; rows naming a user go with the user (a NULL user_id, e.g. of a
-- pending request, references nothing). Secrets are stored only as keyed
-- hashes. Times are unix microseconds (UTC), NULL where the domain has a
-- zero time; booleans 0/1, lists JSON arrays. Every table has an index on
-- its expiry for the cleanup job.

CREATE TABLE oidc_auth_requests (
	instance_id           TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	id                    TEXT NOT NULL,
	client_id             TEXT NOT NULL,
	redirect_uri          TEXT NOT NULL,
	scopes                TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(scopes)),
	state                 TEXT NOT NULL DEFAULT '',
	nonce                 TEXT NOT NULL DEFAULT '',
	response_type         TEXT NOT NULL DEFAULT '',
	response_mode         TEXT NOT NULL DEFAULT '',
	code_challenge        TEXT NOT NULL DEFAULT '',
	code_challenge_method TEXT NOT NULL DEFAULT '',
	prompt                TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(prompt)),
	max_age               INTEGER NOT NULL DEFAULT -1,
	login_hint            TEXT NOT NULL DEFAULT '',
	ui_locales            TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(ui_locales)),
	user_id               TEXT,
	auth_time             INTEGER,
	amr                   TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(amr)),
	done                  INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
	code_hash             BLOB,
	code_used_at          INTEGER,
	created_at            INTEGER NOT NULL,
	expires_at            INTEGER NOT NULL,
	PRIMARY KEY (instance_id, id),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
) STRICT;
CREATE UNIQUE INDEX oidc_auth_requests_code ON oidc_auth_requests (instance_id, code_hash) WHERE code_hash IS NOT NULL;
CREATE INDEX oidc_auth_requests_user ON oidc_auth_requests (instance_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX oidc_auth_requests_expires ON oidc_auth_requests (expires_at);

CREATE TABLE oidc_refresh_tokens (
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	id          TEXT NOT NULL,
	family_id   TEXT NOT NULL,
	token_hash  BLOB NOT NULL,
	client_id   TEXT NOT NULL,
	user_id     TEXT,
	scopes      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(scopes)),
	audience    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(audience)),
	amr         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(amr)),
	auth_time   INTEGER,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	used_at     INTEGER,
	PRIMARY KEY (instance_id, id),
	UNIQUE (instance_id, token_hash),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
) STRICT;
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
	scopes      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(scopes)),
	audience    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(audience)),
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	PRIMARY KEY (instance_id, id)
) STRICT;
CREATE INDEX oidc_access_tokens_expires ON oidc_access_tokens (expires_at);

-- Revoked token and family IDs, kept until the longest-lived token they
-- could name has expired.
CREATE TABLE oidc_revocations (
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	id          TEXT NOT NULL,
	expires_at  INTEGER NOT NULL,
	PRIMARY KEY (instance_id, id)
) STRICT;
CREATE INDEX oidc_revocations_expires ON oidc_revocations (expires_at);

CREATE TABLE oidc_device_authorizations (
	instance_id      TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	device_code_hash BLOB NOT NULL,
	user_code        TEXT NOT NULL,
	client_id        TEXT NOT NULL,
	scopes           TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(scopes)),
	state            TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'consumed')),
	user_id          TEXT,
	auth_time        INTEGER,
	amr              TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(amr)),
	created_at       INTEGER NOT NULL,
	expires_at       INTEGER NOT NULL,
	PRIMARY KEY (instance_id, device_code_hash),
	UNIQUE (instance_id, user_code),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX oidc_device_authorizations_user ON oidc_device_authorizations (instance_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX oidc_device_authorizations_expires ON oidc_device_authorizations (expires_at);

-- Token signing keys are global: all instances share them.
CREATE TABLE oidc_signing_keys (
	id          TEXT PRIMARY KEY,
	generation  INTEGER NOT NULL UNIQUE,
	algorithm   TEXT NOT NULL,
	private_key BLOB NOT NULL,
	public_key  BLOB NOT NULL,
	created_at  INTEGER NOT NULL,
	not_before  INTEGER NOT NULL,
	not_after   INTEGER NOT NULL,
	retire_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX oidc_signing_keys_retire ON oidc_signing_keys (retire_at);

-- Public keys of applications for private_key_jwt client authentication.
CREATE TABLE application_keys (
	instance_id TEXT NOT NULL,
	id          TEXT NOT NULL,
	app_id      TEXT NOT NULL,
	public_key  TEXT NOT NULL,
	expires_at  INTEGER, -- NULL: never
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (instance_id, id),
	FOREIGN KEY (instance_id, app_id) REFERENCES applications (instance_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX application_keys_app ON application_keys (instance_id, app_id, id);
-- Keys are stored in canonical PEM: the same key cannot be added twice, even
-- by two concurrent requests.
CREATE UNIQUE INDEX application_keys_unique ON application_keys (instance_id, app_id, public_key);
