-- rampart:phase expand
-- Policies (login, password, lockout, branding) as JSON bodies: one row per
-- instance and kind (org_id NULL), and per organization and kind for an
-- organization's override. Rows go with their instance and organization.
-- The kinds and the bodies' fields are checked by the service, not here,
-- so that a newer version can add kinds and fields without a migration.

CREATE TABLE policies (
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	org_id      TEXT, -- NULL: the instance's policy
	kind        TEXT NOT NULL,
	body        JSONB NOT NULL CHECK (jsonb_typeof(body) = 'object'),
	created_at  TIMESTAMPTZ NOT NULL,
	changed_at  TIMESTAMPTZ NOT NULL,
	version     BIGINT NOT NULL,
	FOREIGN KEY (instance_id, org_id) REFERENCES orgs (instance_id, id) ON DELETE CASCADE
);
-- The key: NULL org_id (the instance) is one value. PolicyListEffective
-- reads (instance_id, '') and (instance_id, org) through it.
CREATE UNIQUE INDEX policies_key ON policies (instance_id, COALESCE(org_id, ''), kind);
