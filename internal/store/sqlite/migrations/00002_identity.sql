-- rampart:phase expand
-- Organizations, users and their credentials, projects, roles,
-- applications, grants and administrative memberships.
--
-- Every table carries instance_id and is keyed by (instance_id, id);
-- references are composite, so no row can point into another instance.
-- Times are unix microseconds (UTC), booleans 0/1, lists JSON arrays.
-- Text compares bytewise (BINARY), so prefix range scans are exact.

ALTER TABLE instances ADD COLUMN is_system INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX instances_one_system ON instances (is_system) WHERE is_system = 1;

CREATE TABLE orgs (
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	id          TEXT NOT NULL,
	name        TEXT NOT NULL,
	name_norm   TEXT NOT NULL,
	state       TEXT NOT NULL CHECK (state IN ('active', 'inactive')),
	created_at  INTEGER NOT NULL,
	changed_at  INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	PRIMARY KEY (instance_id, id),
	UNIQUE (instance_id, name_norm)
) STRICT;

CREATE TABLE users (
	instance_id              TEXT NOT NULL,
	id                       TEXT NOT NULL,
	org_id                   TEXT NOT NULL,
	type                     TEXT NOT NULL CHECK (type IN ('human', 'machine')),
	login_name               TEXT NOT NULL,
	login_name_norm          TEXT NOT NULL,
	state                    TEXT NOT NULL CHECK (state IN ('active', 'inactive', 'locked')),
	email                    TEXT NOT NULL DEFAULT '',
	email_norm               TEXT NOT NULL DEFAULT '',
	email_verified           INTEGER NOT NULL DEFAULT 0,
	given_name               TEXT NOT NULL DEFAULT '',
	family_name              TEXT NOT NULL DEFAULT '',
	preferred_language       TEXT NOT NULL DEFAULT '',
	password_hash            TEXT NOT NULL DEFAULT '',
	password_change_required INTEGER NOT NULL DEFAULT 0,
	machine_name             TEXT NOT NULL DEFAULT '',
	machine_description      TEXT NOT NULL DEFAULT '',
	secret_hash              BLOB,
	created_at               INTEGER NOT NULL,
	changed_at               INTEGER NOT NULL,
	version                  INTEGER NOT NULL,
	PRIMARY KEY (instance_id, id),
	FOREIGN KEY (instance_id, org_id) REFERENCES orgs (instance_id, id) ON DELETE CASCADE,
	UNIQUE (instance_id, login_name_norm)
) STRICT;
CREATE INDEX users_org ON users (instance_id, org_id, id);
CREATE INDEX users_org_login ON users (instance_id, org_id, login_name_norm);
CREATE INDEX users_email ON users (instance_id, email_norm, id);

CREATE TABLE personal_access_tokens (
	instance_id TEXT NOT NULL,
	id          TEXT NOT NULL,
	user_id     TEXT NOT NULL,
	token_hash  BLOB NOT NULL UNIQUE,
	expires_at  INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (instance_id, id),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX personal_access_tokens_user ON personal_access_tokens (instance_id, user_id, id);

CREATE TABLE machine_keys (
	instance_id TEXT NOT NULL,
	id          TEXT NOT NULL,
	user_id     TEXT NOT NULL,
	public_key  TEXT NOT NULL,
	expires_at  INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (instance_id, id),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX machine_keys_user ON machine_keys (instance_id, user_id, id);

CREATE TABLE projects (
	instance_id    TEXT NOT NULL,
	id             TEXT NOT NULL,
	org_id         TEXT NOT NULL,
	name           TEXT NOT NULL,
	name_norm      TEXT NOT NULL,
	role_assertion INTEGER NOT NULL DEFAULT 0,
	state          TEXT NOT NULL CHECK (state IN ('active', 'inactive')),
	created_at     INTEGER NOT NULL,
	changed_at     INTEGER NOT NULL,
	version        INTEGER NOT NULL,
	PRIMARY KEY (instance_id, id),
	UNIQUE (instance_id, org_id, id),
	UNIQUE (instance_id, org_id, name_norm),
	FOREIGN KEY (instance_id, org_id) REFERENCES orgs (instance_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE project_roles (
	instance_id  TEXT NOT NULL,
	project_id   TEXT NOT NULL,
	role_key     TEXT NOT NULL,
	display_name TEXT NOT NULL DEFAULT '',
	role_group   TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	changed_at   INTEGER NOT NULL,
	version      INTEGER NOT NULL,
	PRIMARY KEY (instance_id, project_id, role_key),
	FOREIGN KEY (instance_id, project_id) REFERENCES projects (instance_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE applications (
	instance_id               TEXT NOT NULL,
	id                        TEXT NOT NULL,
	org_id                    TEXT NOT NULL,
	project_id                TEXT NOT NULL,
	name                      TEXT NOT NULL,
	type                      TEXT NOT NULL CHECK (type IN ('web', 'native', 'spa', 'api')),
	client_id                 TEXT NOT NULL,
	secret_hash               BLOB,
	redirect_uris             TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(redirect_uris)),
	post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(post_logout_redirect_uris)),
	grant_types               TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(grant_types)),
	response_types            TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(response_types)),
	auth_method               TEXT NOT NULL,
	access_token_format       TEXT NOT NULL CHECK (access_token_format IN ('jwt', 'opaque')),
	access_token_lifetime_ms  INTEGER NOT NULL,
	id_token_lifetime_ms      INTEGER NOT NULL,
	refresh_token_lifetime_ms INTEGER NOT NULL,
	pkce_required             INTEGER NOT NULL DEFAULT 0,
	state                     TEXT NOT NULL CHECK (state IN ('active', 'inactive')),
	created_at                INTEGER NOT NULL,
	changed_at                INTEGER NOT NULL,
	version                   INTEGER NOT NULL,
	PRIMARY KEY (instance_id, id),
	UNIQUE (instance_id, client_id),
	FOREIGN KEY (instance_id, org_id, project_id) REFERENCES projects (instance_id, org_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX applications_project ON applications (instance_id, project_id, id);

CREATE TABLE project_grants (
	instance_id    TEXT NOT NULL,
	id             TEXT NOT NULL,
	org_id         TEXT NOT NULL,
	project_id     TEXT NOT NULL,
	granted_org_id TEXT NOT NULL,
	state          TEXT NOT NULL CHECK (state IN ('active', 'inactive')),
	created_at     INTEGER NOT NULL,
	changed_at     INTEGER NOT NULL,
	version        INTEGER NOT NULL,
	PRIMARY KEY (instance_id, id),
	UNIQUE (instance_id, project_id, granted_org_id),
	UNIQUE (instance_id, id, project_id),
	FOREIGN KEY (instance_id, org_id, project_id) REFERENCES projects (instance_id, org_id, id) ON DELETE CASCADE,
	FOREIGN KEY (instance_id, granted_org_id) REFERENCES orgs (instance_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX project_grants_granted ON project_grants (instance_id, granted_org_id, id);

CREATE TABLE project_grant_roles (
	instance_id TEXT NOT NULL,
	grant_id    TEXT NOT NULL,
	project_id  TEXT NOT NULL,
	role_key    TEXT NOT NULL,
	PRIMARY KEY (instance_id, grant_id, role_key),
	FOREIGN KEY (instance_id, grant_id, project_id) REFERENCES project_grants (instance_id, id, project_id) ON DELETE CASCADE,
	FOREIGN KEY (instance_id, project_id, role_key) REFERENCES project_roles (instance_id, project_id, role_key) ON DELETE CASCADE
) STRICT;

CREATE TABLE user_grants (
	instance_id      TEXT NOT NULL,
	id               TEXT NOT NULL,
	org_id           TEXT NOT NULL,
	user_id          TEXT NOT NULL,
	project_id       TEXT NOT NULL,
	project_grant_id TEXT,
	state            TEXT NOT NULL CHECK (state IN ('active', 'inactive')),
	created_at       INTEGER NOT NULL,
	changed_at       INTEGER NOT NULL,
	version          INTEGER NOT NULL,
	PRIMARY KEY (instance_id, id),
	UNIQUE (instance_id, user_id, project_id),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE,
	FOREIGN KEY (instance_id, project_id) REFERENCES projects (instance_id, id) ON DELETE CASCADE,
	FOREIGN KEY (instance_id, project_grant_id) REFERENCES project_grants (instance_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX user_grants_org ON user_grants (instance_id, org_id, id);
CREATE INDEX user_grants_project ON user_grants (instance_id, project_id, id);

CREATE TABLE user_grant_roles (
	instance_id TEXT NOT NULL,
	grant_id    TEXT NOT NULL,
	project_id  TEXT NOT NULL,
	role_key    TEXT NOT NULL,
	PRIMARY KEY (instance_id, grant_id, role_key),
	FOREIGN KEY (instance_id, grant_id) REFERENCES user_grants (instance_id, id) ON DELETE CASCADE,
	FOREIGN KEY (instance_id, project_id, role_key) REFERENCES project_roles (instance_id, project_id, role_key) ON DELETE CASCADE
) STRICT;

-- Administrative memberships. scope 'instance' has neither org_id nor
-- project_id, 'org' has org_id, 'project' has both.
CREATE TABLE memberships (
	instance_id TEXT NOT NULL,
	id          TEXT NOT NULL,
	scope       TEXT NOT NULL CHECK (scope IN ('instance', 'org', 'project')),
	org_id      TEXT,
	project_id  TEXT,
	user_id     TEXT NOT NULL,
	roles       TEXT NOT NULL CHECK (json_valid(roles)),
	created_at  INTEGER NOT NULL,
	changed_at  INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	PRIMARY KEY (instance_id, id),
	CHECK ((scope = 'instance' AND org_id IS NULL AND project_id IS NULL)
		OR (scope = 'org' AND org_id IS NOT NULL AND project_id IS NULL)
		OR (scope = 'project' AND org_id IS NOT NULL AND project_id IS NOT NULL)),
	FOREIGN KEY (instance_id, user_id) REFERENCES users (instance_id, id) ON DELETE CASCADE,
	FOREIGN KEY (instance_id, org_id) REFERENCES orgs (instance_id, id) ON DELETE CASCADE,
	FOREIGN KEY (instance_id, org_id, project_id) REFERENCES projects (instance_id, org_id, id) ON DELETE CASCADE
) STRICT;
CREATE UNIQUE INDEX memberships_target_user ON memberships (instance_id, scope, COALESCE(org_id, ''), COALESCE(project_id, ''), user_id);
CREATE INDEX memberships_user ON memberships (instance_id, user_id);
