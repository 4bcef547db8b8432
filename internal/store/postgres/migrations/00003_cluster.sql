-- rampart:phase expand
-- The node registry: one row per running node, refreshed by its heartbeat.
-- Cache invalidations need no table: they travel on NOTIFY rampart_cache.

CREATE TABLE nodes (
	node_id        TEXT PRIMARY KEY,
	address        TEXT NOT NULL,
	hostname       TEXT NOT NULL,
	pid            BIGINT NOT NULL,
	version        TEXT NOT NULL,
	schema_version BIGINT NOT NULL,
	started_at     TIMESTAMPTZ NOT NULL,
	last_seen      TIMESTAMPTZ NOT NULL,
	ready          BOOLEAN NOT NULL
);

CREATE INDEX nodes_last_seen ON nodes (last_seen);
