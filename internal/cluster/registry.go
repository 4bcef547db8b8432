package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// Registry defaults.
const (
	DefaultHeartbeatInterval = 5 * time.Second
	DefaultNodeExpiry        = 30 * time.Second
)

// RegistryOptions configure a Registry.
type RegistryOptions struct {
	// Store holds the registry (required).
	Store store.ClusterQueries
	// NodeID names this node; empty generates one (iam.NewID). It must also
	// be the River client ID, so that the job leader maps to a node.
	NodeID string
	// Address is where this node is reached, shown to operators.
	Address string
	// Version is the Rampart version this node runs.
	Version string
	// SchemaVersion returns the database schema version as the node last
	// read it (nil: 0).
	SchemaVersion func() int64
	// Ready returns the node's readiness (nil: always ready).
	Ready func() bool
	// Interval between heartbeats (default DefaultHeartbeatInterval).
	Interval time.Duration
	// Expiry after its last heartbeat when a node counts as gone (default
	// DefaultNodeExpiry).
	Expiry time.Duration
	// Logger receives heartbeat failures (default: discard).
	Logger *slog.Logger
}

// Registry keeps this node's row in the node registry current and lists
// the live nodes.
type Registry struct {
	o       RegistryOptions
	started time.Time
	host    string
	left    atomic.Bool
}

// NodeStatus is a live node as the registry shows it.
type NodeStatus struct {
	store.Node
	// Leader is true for the node elected leader of the background jobs.
	Leader bool
}

// NewRegistry returns a registry for this node; Run starts heartbeating.
func NewRegistry(o RegistryOptions) *Registry {
	if o.NodeID == "" {
		o.NodeID = iam.NewID()
	}
	if o.Interval <= 0 {
		o.Interval = DefaultHeartbeatInterval
	}
	if o.Expiry <= 0 {
		o.Expiry = DefaultNodeExpiry
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SchemaVersion == nil {
		o.SchemaVersion = func() int64 { return 0 }
	}
	if o.Ready == nil {
		o.Ready = func() bool { return true }
	}
	host, _ := os.Hostname()
	return &Registry{o: o, started: time.Now().UTC().Truncate(time.Microsecond), host: host}
}

// NodeID returns this node's ID.
func (r *Registry) NodeID() string { return r.o.NodeID }

// Heartbeat records this node's row once.
func (r *Registry) Heartbeat(ctx context.Context) error {
	return r.o.Store.NodeHeartbeat(ctx, &store.NodeHeartbeatParams{Node: &store.Node{
		ID: r.o.NodeID, Address: r.o.Address, Hostname: r.host, PID: int64(os.Getpid()),
		Version: r.o.Version, SchemaVersion: r.o.SchemaVersion(),
		StartedAt: r.started, LastSeen: time.Now().UTC().Truncate(time.Microsecond), Ready: r.o.Ready(),
	}})
}

// Run heartbeats at once and then every interval until ctx ends or Leave
// is called. Failures (database down, schema not migrated yet) are logged
// and retried at the next beat.
func (r *Registry) Run(ctx context.Context) {
	t := time.NewTicker(r.o.Interval)
	defer t.Stop()
	failing := false
	for {
		if r.left.Load() {
			return
		}
		err := r.Heartbeat(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			r.o.Logger.Warn("node heartbeat failed; retrying", "node_id", r.o.NodeID, "err", err)
		case err == nil && failing:
			r.o.Logger.Info("node heartbeat recorded again", "node_id", r.o.NodeID)
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Leave removes this node's row (graceful shutdown) and stops Run's
// heartbeats, so that the node disappears from the registry at once.
func (r *Registry) Leave(ctx context.Context) error {
	r.left.Store(true)
	if err := r.o.Store.NodeDelete(ctx, &store.NodeDeleteParams{ID: r.o.NodeID}); err != nil {
		return fmt.Errorf("leave the node registry: %w", err)
	}
	return nil
}

// Nodes returns the live nodes and the ID of the job leader ("" if none).
func (r *Registry) Nodes(ctx context.Context) ([]NodeStatus, string, error) {
	return ListNodes(ctx, r.o.Store, r.o.Expiry)
}

// DeleteStale removes the rows of nodes that have been gone for longer
// than the expiry, and returns how many. The periodic cleanup job calls it.
func (r *Registry) DeleteStale(ctx context.Context) (int64, error) {
	return DeleteStaleNodes(ctx, r.o.Store, r.o.Expiry)
}

// DeleteStaleNodes removes the rows of nodes whose last heartbeat is older
// than expiry (DefaultNodeExpiry if <= 0).
func DeleteStaleNodes(ctx context.Context, st store.ClusterQueries, expiry time.Duration) (int64, error) {
	if expiry <= 0 {
		expiry = DefaultNodeExpiry
	}
	n, err := st.NodeDeleteStale(ctx, &store.NodeDeleteStaleParams{Before: time.Now().Add(-expiry)})
	if err != nil {
		return 0, fmt.Errorf("delete stale nodes: %w", err)
	}
	return n, nil
}

// ListNodes returns the nodes that heartbeated within expiry
// (DefaultNodeExpiry if <= 0) and the ID of the job leader ("" if none),
// reading the database only.
func ListNodes(ctx context.Context, st store.ClusterQueries, expiry time.Duration) ([]NodeStatus, string, error) {
	if expiry <= 0 {
		expiry = DefaultNodeExpiry
	}
	nodes, err := st.NodeList(ctx, &store.NodeListParams{LiveSince: time.Now().Add(-expiry)})
	if err != nil {
		return nil, "", fmt.Errorf("list nodes: %w", err)
	}
	leader, err := st.ClusterLeader(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("read the job leader: %w", err)
	}
	out := make([]NodeStatus, len(nodes))
	for i, n := range nodes {
		out[i] = NodeStatus{Node: *n, Leader: n.ID == leader}
	}
	return out, leader, nil
}

// PrintNodes writes the live nodes (within expiry; DefaultNodeExpiry if
// <= 0) as a table to w, for `rampart nodes`. The job leader is marked
// with "*" in the LEADER column; a leader that is not a live registered
// node is named below the table.
func PrintNodes(ctx context.Context, w io.Writer, st store.ClusterQueries, expiry time.Duration) error {
	nodes, leader, err := ListNodes(ctx, st, expiry)
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tADDRESS\tVERSION\tSCHEMA\tSTARTED\tLAST SEEN\tREADY\tLEADER")
	leaderListed := false
	for _, n := range nodes {
		mark, ready := "", "no"
		if n.Leader {
			mark, leaderListed = "*", true
		}
		if n.Ready {
			ready = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s ago\t%s\t%s\n", n.ID, n.Address, n.Version, n.SchemaVersion,
			n.StartedAt.UTC().Format(time.RFC3339), max(now.Sub(n.LastSeen), 0).Round(time.Second), ready, mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case len(nodes) == 0:
		_, err = fmt.Fprintln(w, "no live nodes")
	case leader == "":
		_, err = fmt.Fprintln(w, "no job leader elected")
	case !leaderListed:
		_, err = fmt.Fprintf(w, "job leader: %s (not a live registered node)\n", leader)
	}
	return err
}

// CurrentVersion returns the database schema version the gate last read
// (0 before the first Refresh): the registry's SchemaVersion.
func (g *SchemaGate) CurrentVersion() int64 {
	if s := g.state.Load(); s != nil && s.status != nil {
		return s.status.Current()
	}
	return 0
}
