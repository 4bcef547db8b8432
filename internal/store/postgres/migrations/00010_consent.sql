-- rampart:phase expand
-- Consent for third-party applications: an application may require the
-- user's approval of the scopes it asks for; an approval is remembered
-- per user and application (the approved scopes, space-separated and
-- sorted) and goes with either.

ALTER TABLE applications ADD COLUMN consent_required BOOLEAN NOT NULL DEFAULT false;

CREATE TABLE consents (
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	user_id     TEXT NOT NULL,
	app_id      TEXT NOT NULL,
	scopes      TEXT NOT NULL,
	granted_at  TIMESTAMPTZ NOT NULL,
	changed_at  TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (instance_id, user_id, app_id),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE,
	FOREIGN KEY (instance_id, app_id) REFERENCES applications (instance_id, id) ON DELETE CASCADE
);
CREATE INDEX consents_app ON consents (instance_id, app_id);
