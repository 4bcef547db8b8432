-- rampart:phase expand
-- Consent for third-party applications: an application may require the
-- user's approval of the scopes it asks for; an approval is remembered
-- per user and application (the approved scopes, space-separated and
-- sorted) and goes with either. Times are unix microseconds (UTC).

ALTER TABLE applications ADD COLUMN consent_required INTEGER NOT NULL DEFAULT 0;

CREATE TABLE consents (
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	user_id     TEXT NOT NULL,
	app_id      TEXT NOT NULL,
	scopes      TEXT NOT NULL,
	granted_at  INTEGER NOT NULL,
	changed_at  INTEGER NOT NULL,
	PRIMARY KEY (instance_id, user_id, app_id),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE,
	FOREIGN KEY (instance_id, app_id) REFERENCES applications (instance_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX consents_app ON consents (instance_id, app_id);
