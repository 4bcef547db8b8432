package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/rivertype"

	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/store/postgres"
	"github.com/rampartiam/rampart/internal/testenv"
)

// crashableStore is a PostgreSQL store whose Pool (from which River's pool
// is derived) refuses new connections once crashed, so that together with
// pg_terminate_backend the node loses the database as if its process had
// died: it can neither renew nor resign its leadership.
type crashableStore struct {
	store.Store
	pool    *pgxpool.Pool
	crashed *atomic.Bool
}

func (s *crashableStore) Pool() *pgxpool.Pool { return s.pool }

// clusterNode is one River client of the cluster test, with its own pools.
type clusterNode struct {
	id      string
	j       *Jobs
	crashed atomic.Bool
	runs    atomic.Int32
}

// TestClusterExactlyOnceAndFailover runs three clients with separate pools
// on one PostgreSQL database: each period's periodic job is enqueued once
// and worked once, by whichever client; when the leader loses the database
// without resigning, another client takes over after River's lease
// expires, and the schedule goes on without a period run twice.
func TestClusterExactlyOnceAndFailover(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	ctx := t.Context()
	const every = time.Second
	open := func(t *testing.T) store.Store {
		s, err := postgres.Open(ctx, postgres.Options{URL: dbURL, AppVersion: testenv.AppVersion})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	if err := open(t).Migrator().Up(ctx, nil); err != nil {
		t.Fatal(err)
	}
	nodes := make([]*clusterNode, 3)
	for i := range nodes {
		n := &clusterNode{id: fmt.Sprintf("node-%d", i)}
		cfg, err := pgxpool.ParseConfig(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		cfg.BeforeConnect = func(context.Context, *pgx.ConnConfig) error {
			if n.crashed.Load() {
				return errors.New("node crashed")
			}
			return nil
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		st := &crashableStore{Store: open(t), pool: pool, crashed: &n.crashed}
		n.j = newJobs(t, Options{
			Store: st, NodeID: n.id, CleanupInterval: time.Hour,
			Maintenance:         []Step{{Name: "record", Run: func(context.Context) error { n.runs.Add(1); return nil }}},
			MaintenanceInterval: every,
		})
		nodes[i] = n
	}
	for _, n := range nodes {
		if err := n.j.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// An observer that is never started reads the jobs throughout.
	observer := newJobs(t, Options{Store: open(t)})
	completed := func() []*rivertype.JobRow {
		var out []*rivertype.JobRow
		for _, r := range jobsOf(t, observer, KindMaintenance) {
			if r.State == rivertype.JobStateCompleted {
				out = append(out, r)
			}
		}
		return out
	}
	eventually(t, 60*time.Second, "five periods completed", func() bool { return len(completed()) >= 5 })

	leaderID, err := nodes[0].j.Leader(ctx)
	if err != nil || leaderID == "" {
		t.Fatalf("leader %q, %v", leaderID, err)
	}
	leader := nodes[slices.IndexFunc(nodes, func(n *clusterNode) bool { return n.id == leaderID })]
	var survivor *clusterNode
	for _, n := range nodes {
		if n != leader {
			survivor = n
			break
		}
	}

	// Crash the leader: no new connections, existing ones killed.
	crashedAt := time.Now()
	leader.crashed.Store(true)
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, "rampart jobs "+leader.id); err != nil {
		t.Fatal(err)
	}
	var newLeader string
	eventually(t, 60*time.Second, "another node elected", func() bool {
		id, err := survivor.j.Leader(ctx)
		newLeader = id
		return err == nil && id != "" && id != leader.id
	})
	failover := time.Since(crashedAt)
	t.Logf("leader %s lost the database; %s elected after %s", leader.id, newLeader, failover.Round(10*time.Millisecond))
	before := len(completed())
	eventually(t, 60*time.Second, "three more periods completed", func() bool { return len(completed()) >= before+3 })

	// A graceful stop resigns: the last node takes over at once.
	second := nodes[slices.IndexFunc(nodes, func(n *clusterNode) bool { return n.id == newLeader })]
	last := nodes[slices.IndexFunc(nodes, func(n *clusterNode) bool { return n != leader && n != second })]
	stopAt := time.Now()
	stopNode := func(n *clusterNode, timeout time.Duration) error {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		return n.j.Stop(sctx)
	}
	if err := stopNode(second, 30*time.Second); err != nil {
		t.Errorf("stop %s: %v", second.id, err)
	}
	eventually(t, 60*time.Second, "the last node elected", func() bool {
		id, err := last.j.Leader(ctx)
		return err == nil && id == last.id
	})
	t.Logf("leader %s stopped gracefully; %s elected %s after the stop began", second.id, last.id, time.Since(stopAt).Round(10*time.Millisecond))
	before = len(completed())
	eventually(t, 60*time.Second, "two more periods completed", func() bool { return len(completed()) >= before+2 })
	if err := stopNode(last, 30*time.Second); err != nil {
		t.Errorf("stop %s: %v", last.id, err)
	}
	_ = stopNode(leader, 2*time.Second) // it has no database; errors expected

	// Exactly once: one job per period, each attempted once, by one node.
	// A job the leader had fetched when it crashed stays running until
	// River's rescuer (RescueStuckJobsAfter) retries it; its step may or
	// may not have run.
	rows := jobsOf(t, observer, KindMaintenance)
	buckets := periodBuckets(t, rows, every)
	perNode, attempted := map[string]int32{}, map[string]int32{}
	for _, r := range rows {
		if len(r.AttemptedBy) == 0 {
			continue
		}
		if r.Attempt != 1 || len(r.AttemptedBy) != 1 {
			t.Errorf("job %d: attempt %d by %v, want one attempt", r.ID, r.Attempt, r.AttemptedBy)
			continue
		}
		attempted[r.AttemptedBy[0]]++
		switch {
		case r.State == rivertype.JobStateCompleted:
			perNode[r.AttemptedBy[0]]++
		case r.AttemptedBy[0] != leader.id:
			t.Errorf("job %d of a surviving node is %s", r.ID, r.State)
		}
	}
	for _, n := range nodes {
		if got := n.runs.Load(); got < perNode[n.id] || got > attempted[n.id] || (n != leader && got != perNode[n.id]) {
			t.Errorf("%s ran the step %d times, completed %d jobs, attempted %d", n.id, got, perNode[n.id], attempted[n.id])
		}
	}
	// Periods are consecutive except around the two leader changes: from
	// the period the old leader may have been working (after a crash) until
	// the new leader resumes scheduling (election, then River starts its
	// periodic enqueuer after a random delay of up to 1 s: with intervals
	// longer than that, a graceful handover loses no period).
	resumed := func(after time.Time, what string) time.Time {
		i := slices.IndexFunc(buckets, func(b time.Time) bool { return b.After(after) })
		if i < 0 {
			t.Fatalf("no period completed after the %s", what)
		}
		t.Logf("periodic scheduling resumed %s after the %s", buckets[i].Sub(after).Round(10*time.Millisecond), what)
		return buckets[i]
	}
	windows := [][2]time.Time{
		{crashedAt.Add(-3 * every), resumed(crashedAt, "crash")},
		{stopAt.Add(-2 * every), resumed(stopAt, "graceful stop")},
	}
	var gaps []string
	for i := 1; i < len(buckets); i++ {
		if missing := buckets[i].Sub(buckets[i-1]) - every; missing > 0 {
			gaps = append(gaps, fmt.Sprintf("%s before %s", missing, buckets[i].Format("15:04:05")))
			if !slices.ContainsFunc(windows, func(w [2]time.Time) bool {
				return !buckets[i-1].Before(w[0]) && !buckets[i].After(w[1])
			}) {
				t.Errorf("periods missing away from the leader changes: %s missing before %s", missing, buckets[i].Format(time.RFC3339Nano))
			}
		}
	}
	t.Logf("%d periods run by %v; missed while electing: %v", len(buckets), perNode, gaps)
	if t.Failed() {
		t.Logf("crashed at %s", crashedAt.Format("15:04:05.000"))
		for _, r := range rows {
			t.Logf("job %d %s scheduled %s attempted %v by %v", r.ID, r.State, r.ScheduledAt.Format("15:04:05.000"), r.AttemptedAt, r.AttemptedBy)
		}
	}
}
