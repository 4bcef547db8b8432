package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rampartiam/rampart/internal/store"
)

// NodeHeartbeat implements store.Queries.
func (q *queries) NodeHeartbeat(ctx context.Context, p *store.NodeHeartbeatParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		n := p.Node
		_, err := q.db.ExecContext(ctx, `INSERT INTO nodes
			(node_id, address, hostname, pid, version, schema_version, started_at, last_seen, ready)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (node_id) DO UPDATE SET address = excluded.address, hostname = excluded.hostname,
				pid = excluded.pid, version = excluded.version, schema_version = excluded.schema_version,
				started_at = excluded.started_at, last_seen = excluded.last_seen, ready = excluded.ready`,
			n.ID, n.Address, n.Hostname, n.PID, n.Version, n.SchemaVersion, micros(n.StartedAt), micros(n.LastSeen), n.Ready)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: node heartbeat: %w", mapErr(err))
		}
		return struct{}{}, nil
	})
	return err
}

// NodeList implements store.Queries.
func (q *queries) NodeList(ctx context.Context, p *store.NodeListParams) ([]*store.Node, error) {
	since := int64(-1 << 63)
	if !p.LiveSince.IsZero() {
		since = micros(p.LiveSince)
	}
	rows, err := q.db.QueryContext(ctx, `SELECT node_id, address, hostname, pid, version, schema_version, started_at, last_seen, ready
		FROM nodes WHERE last_seen >= ? ORDER BY started_at, node_id`, since)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list nodes: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*store.Node
	for rows.Next() {
		var n store.Node
		var started, seen int64
		if err := rows.Scan(&n.ID, &n.Address, &n.Hostname, &n.PID, &n.Version, &n.SchemaVersion, &started, &seen, &n.Ready); err != nil {
			return nil, fmt.Errorf("sqlite: list nodes: %w", mapErr(err))
		}
		n.StartedAt, n.LastSeen = fromMicros(started), fromMicros(seen)
		out = append(out, &n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list nodes: %w", mapErr(err))
	}
	return out, nil
}

// NodeDelete implements store.Queries.
func (q *queries) NodeDelete(ctx context.Context, p *store.NodeDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		if _, err := q.db.ExecContext(ctx, `DELETE FROM nodes WHERE node_id = ?`, p.ID); err != nil {
			return struct{}{}, fmt.Errorf("sqlite: delete node: %w", mapErr(err))
		}
		return struct{}{}, nil
	})
	return err
}

// NodeDeleteStale implements store.Queries.
func (q *queries) NodeDeleteStale(ctx context.Context, p *store.NodeDeleteStaleParams) (int64, error) {
	return write(ctx, q, func(q *queries) (int64, error) {
		res, err := q.db.ExecContext(ctx, `DELETE FROM nodes WHERE last_seen < ?`, micros(p.Before))
		if err != nil {
			return 0, fmt.Errorf("sqlite: delete stale nodes: %w", mapErr(err))
		}
		return res.RowsAffected()
	})
}

// ClusterLeader implements store.Queries. River's SQLite driver stores
// times as text; unixepoch parses both its formats.
func (q *queries) ClusterLeader(ctx context.Context) (string, error) {
	var id string
	err := q.db.QueryRowContext(ctx, `SELECT leader_id FROM river_leader
		WHERE unixepoch(expires_at, 'subsec') > unixepoch('now', 'subsec') LIMIT 1`).Scan(&id)
	switch {
	case err == nil:
		return id, nil
	case strings.Contains(err.Error(), "no such table"):
		return "", nil
	}
	if err = mapErr(err); errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return "", fmt.Errorf("sqlite: cluster leader: %w", err)
}

// CacheInvalidate implements store.Queries: SQLite serves one node, so the
// invalidation goes to this handle's subscribers, after the commit in a
// transaction and at once outside one.
func (q *queries) CacheInvalidate(_ context.Context, topic, key string) error {
	if strings.ContainsRune(topic, ':') || topic == "" {
		return fmt.Errorf("sqlite: invalid cache topic %q", topic)
	}
	inv := store.Invalidation{Topic: topic, Key: key}
	if q.inTx {
		q.invalidations = append(q.invalidations, inv)
		return nil
	}
	q.s.subs.Deliver(inv)
	return nil
}

// ListenInvalidations implements store.Store: it subscribes to this
// handle's invalidations until ctx ends; the subscription never breaks.
func (s *Store) ListenInvalidations(ctx context.Context, ready func(), deliver func(topic, key string)) error {
	remove := s.subs.Add(deliver)
	defer remove()
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	return ctx.Err()
}
