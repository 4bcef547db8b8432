-- rampart:phase expand
-- Single-use, expiring tokens sent by e-mail: address verification and
-- password reset. Only the keyed hash of a token is stored; a row is
-- deleted when its token is used.

CREATE TABLE verification_tokens (
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	token_hash  BYTEA NOT NULL,
	purpose     TEXT NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
	user_id     TEXT NOT NULL,
	email       TEXT NOT NULL DEFAULT '',
	created_at  TIMESTAMPTZ NOT NULL,
	expires_at  TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (instance_id, token_hash),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
);
CREATE INDEX verification_tokens_user ON verification_tokens (instance_id, user_id);
CREATE INDEX verification_tokens_expires ON verification_tokens (expires_at);
