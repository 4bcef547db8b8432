package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampartiam/rampart/internal/store"
)

// invalidationChannel is the NOTIFY channel of cache invalidations; the
// payload is "origin|topic:key", origin naming the store handle that sent
// it (its own subscribers got it locally at commit and skip the echo).
const invalidationChannel = "rampart_cache"

// maxPayload is below PostgreSQL's NOTIFY payload limit (8000 bytes).
const maxPayload = 7900

// Listener health: a connection that delivered nothing for listenIdle is
// pinged, and counts as broken if the ping takes longer than listenPing.
const (
	listenIdle = 10 * time.Second
	listenPing = 5 * time.Second
)

const nodeColumns = `node_id, address, hostname, pid, version, schema_version, started_at, last_seen, ready`

// NodeHeartbeat implements store.Queries.
func (q *queries) NodeHeartbeat(ctx context.Context, p *store.NodeHeartbeatParams) error {
	n := p.Node
	_, err := q.db.Exec(ctx, `INSERT INTO nodes (`+nodeColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (node_id) DO UPDATE SET address = excluded.address, hostname = excluded.hostname,
			pid = excluded.pid, version = excluded.version, schema_version = excluded.schema_version,
			started_at = excluded.started_at, last_seen = excluded.last_seen, ready = excluded.ready`,
		n.ID, n.Address, n.Hostname, n.PID, n.Version, n.SchemaVersion, n.StartedAt, n.LastSeen, n.Ready)
	if err != nil {
		return fmt.Errorf("postgres: node heartbeat: %w", mapErr(err))
	}
	return nil
}

// NodeList implements store.Queries.
func (q *queries) NodeList(ctx context.Context, p *store.NodeListParams) ([]*store.Node, error) {
	rows, err := q.db.Query(ctx, `SELECT `+nodeColumns+` FROM nodes
		WHERE $1::timestamptz IS NULL OR last_seen >= $1 ORDER BY started_at, node_id`, nullTime(p.LiveSince))
	if err != nil {
		return nil, fmt.Errorf("postgres: list nodes: %w", mapErr(err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.Node, error) {
		var n store.Node
		err := row.Scan(&n.ID, &n.Address, &n.Hostname, &n.PID, &n.Version, &n.SchemaVersion, &n.StartedAt, &n.LastSeen, &n.Ready)
		n.StartedAt, n.LastSeen = n.StartedAt.UTC(), n.LastSeen.UTC()
		return &n, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list nodes: %w", mapErr(err))
	}
	return out, nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// NodeDelete implements store.Queries.
func (q *queries) NodeDelete(ctx context.Context, p *store.NodeDeleteParams) error {
	if _, err := q.db.Exec(ctx, `DELETE FROM nodes WHERE node_id = $1`, p.ID); err != nil {
		return fmt.Errorf("postgres: delete node: %w", mapErr(err))
	}
	return nil
}

// NodeDeleteStale implements store.Queries.
func (q *queries) NodeDeleteStale(ctx context.Context, p *store.NodeDeleteStaleParams) (int64, error) {
	tag, err := q.db.Exec(ctx, `DELETE FROM nodes WHERE last_seen < $1`, p.Before)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete stale nodes: %w", mapErr(err))
	}
	return tag.RowsAffected(), nil
}

// ClusterLeader implements store.Queries. It checks that River's table
// exists first, so that a missing table does not abort a transaction.
func (q *queries) ClusterLeader(ctx context.Context) (string, error) {
	var exists bool
	if err := q.db.QueryRow(ctx, `SELECT to_regclass('river_leader') IS NOT NULL`).Scan(&exists); err != nil {
		return "", fmt.Errorf("postgres: cluster leader: %w", mapErr(err))
	}
	if !exists {
		return "", nil
	}
	var id string
	err := q.db.QueryRow(ctx, `SELECT leader_id FROM river_leader WHERE expires_at > now() LIMIT 1`).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("postgres: cluster leader: %w", mapErr(err))
	}
	return id, nil
}

// CacheInvalidate implements store.Queries: pg_notify in the transaction,
// which PostgreSQL delivers to every listening node at commit (and drops on
// rollback); this handle's own subscribers get it right after the commit,
// before WithTx returns. A key too long for a NOTIFY payload invalidates
// the whole topic.
func (q *queries) CacheInvalidate(ctx context.Context, topic, key string) error {
	if strings.ContainsRune(topic, ':') || topic == "" {
		return fmt.Errorf("postgres: invalid cache topic %q", topic)
	}
	if len(q.s.origin)+1+len(topic)+1+len(key) > maxPayload {
		key = ""
	}
	if _, err := q.db.Exec(ctx, `SELECT pg_notify($1, $2)`, invalidationChannel, q.s.origin+"|"+topic+":"+key); err != nil {
		return fmt.Errorf("postgres: notify cache invalidation: %w", mapErr(err))
	}
	inv := store.Invalidation{Topic: topic, Key: key}
	if q.inTx {
		q.invalidations = append(q.invalidations, inv)
		return nil
	}
	q.s.subs.Deliver(inv)
	return nil
}

// ListenInvalidations implements store.Store with LISTEN on a dedicated
// connection outside the pool, named like the pool's connections with
// "-listener" appended (application_name), so that operators and tests
// can find it in pg_stat_activity. The connection is pinged when idle; a
// terminated backend or a failed ping ends the subscription with an error.
func (s *Store) ListenInvalidations(ctx context.Context, ready func(), deliver func(topic, key string)) error {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = listenerName(cfg.RuntimeParams["application_name"])
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("postgres: listen: %w", mapErr(err))
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), listenPing)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+invalidationChannel); err != nil {
		return fmt.Errorf("postgres: listen: %w", mapErr(err))
	}
	remove := s.subs.Add(deliver)
	defer remove()
	if ready != nil {
		ready()
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, listenIdle)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed() {
				pctx, cancel := context.WithTimeout(ctx, listenPing)
				err = conn.Ping(pctx)
				cancel()
				if err == nil {
					continue
				}
			}
			return fmt.Errorf("postgres: listen: %w", mapErr(err))
		}
		origin, payload, tagged := strings.Cut(n.Payload, "|")
		if !tagged {
			payload = origin
		} else if origin == s.origin {
			continue // delivered locally at commit already
		}
		if topic, key, ok := strings.Cut(payload, ":"); ok {
			deliver(topic, key)
		}
	}
}

// listenerName is the application_name of the listener connection.
func listenerName(base string) string {
	const suffix = "-listener"
	if base == "" {
		base = "rampart"
	}
	if len(base)+len(suffix) > 63 { // NAMEDATALEN-1
		base = base[:63-len(suffix)]
	}
	return base + suffix
}
