-- rampart:phase expand
-- Instances, their domains and the audit log.

CREATE TABLE instances (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	state      TEXT NOT NULL CHECK (state IN ('active', 'inactive')),
	created_at TIMESTAMPTZ NOT NULL,
	changed_at TIMESTAMPTZ NOT NULL,
	version    BIGINT NOT NULL
);

-- A domain belongs to at most one instance; position 0 is the primary one.
CREATE TABLE instance_domains (
	domain      TEXT PRIMARY KEY,
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	position    INTEGER NOT NULL,
	UNIQUE (instance_id, position)
);

-- Append-only. No foreign key to instances: the log outlives what it records.
CREATE TABLE audit_events (
	id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	instance_id    TEXT NOT NULL,
	actor          TEXT NOT NULL,
	aggregate_type TEXT NOT NULL,
	aggregate_id   TEXT NOT NULL,
	event_type     TEXT NOT NULL,
	payload        JSONB NOT NULL,
	created_at     TIMESTAMPTZ NOT NULL
);

CREATE INDEX audit_events_instance ON audit_events (instance_id, id);
CREATE INDEX audit_events_aggregate ON audit_events (instance_id, aggregate_type, aggregate_id, id);
CREATE INDEX audit_events_actor ON audit_events (instance_id, actor, id);
CREATE INDEX audit_events_type ON audit_events (instance_id, event_type, id);
CREATE INDEX audit_events_created ON audit_events (instance_id, created_at, id);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_events is append-only';
END;
$$;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
	FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
