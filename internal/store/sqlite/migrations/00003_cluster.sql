-- rampart:phase expand
-- The node registry: one row per running node, refreshed by its heartbeat.

CREATE TABLE nodes (
	node_id        TEXT PRIMARY KEY,
	address        TEXT NOT NULL,
	hostname       TEXT NOT NULL,
	pid            INTEGER NOT NULL,
	version        TEXT NOT NULL,
	schema_version INTEGER NOT NULL,
	started_at     INTEGER NOT NULL, -- unix microseconds, UTC
	last_seen      INTEGER NOT NULL,
	ready          INTEGER NOT NULL CHECK (ready IN (0, 1))
) STRICT;

CREATE INDEX nodes_last_seen ON nodes (last_seen);
