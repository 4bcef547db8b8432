package test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampartiam/rampart/internal/pgtest"
)

// cleanupRun is a row of river_job for the periodic cleanup job.
type cleanupRun struct {
	id          int64
	state       string
	scheduledAt time.Time
	attempt     int
	attemptedBy []string
}

func cleanupRuns(t *testing.T, db *pgx.Conn) []cleanupRun {
	t.Helper()
	rows, err := db.Query(t.Context(), `SELECT id, state::text, scheduled_at, attempt, coalesce(attempted_by, '{}')
		FROM river_job WHERE kind = 'rampart.cleanup' ORDER BY scheduled_at, id`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (cleanupRun, error) {
		var c cleanupRun
		err := r.Scan(&c.id, &c.state, &c.scheduledAt, &c.attempt, &c.attemptedBy)
		return c, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func jobLeader(t *testing.T, db *pgx.Conn) string {
	t.Helper()
	var id string
	err := db.QueryRow(t.Context(), `SELECT leader_id FROM river_leader WHERE expires_at > now()`).Scan(&id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	return id
}

// TestJobLeaderKilled runs three `rampart start` nodes on one PostgreSQL
// database with a 2 s cleanup interval. The elected job leader is killed
// with SIGKILL: another node takes over once River's lease runs out, the
// periodic cleanup goes on, and no period's job exists or runs twice.
func TestJobLeaderKilled(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	b := postgresBackend(t, dbURL)
	const every = 2 * time.Second
	nodes := map[string]*proc{}
	for i := range 3 {
		id := fmt.Sprintf("node-%d", i)
		nodes[id] = startNode(t, slices.Concat(b.env, []string{
			"RAMPART_NODE_ID=" + id, "RAMPART_DATA_DIR=" + t.TempDir(),
			"RAMPART_JOBS_CLEANUP_INTERVAL=" + every.String(),
		}))
	}
	for _, n := range nodes {
		n.waitReady()
	}
	db, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.WithoutCancel(t.Context()))
	completed := func() int {
		n := 0
		for _, r := range cleanupRuns(t, db) {
			if r.state == "completed" {
				n++
			}
		}
		return n
	}
	waitFor := func(timeout time.Duration, what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("not %s after %s", what, timeout)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor(90*time.Second, "three cleanup periods completed", func() bool { return completed() >= 3 })
	leaderID := jobLeader(t, db)
	leader, ok := nodes[leaderID]
	if !ok {
		t.Fatalf("job leader %q is none of the nodes", leaderID)
	}

	killedAt := time.Now()
	if err := leader.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	var newLeader string
	waitFor(90*time.Second, "another node elected", func() bool {
		newLeader = jobLeader(t, db)
		return newLeader != "" && newLeader != leaderID
	})
	failover := time.Since(killedAt)
	t.Logf("killed leader %s (SIGKILL); %s elected after %s", leaderID, newLeader, failover.Round(10*time.Millisecond))
	before := completed()
	waitFor(90*time.Second, "three more cleanup periods completed", func() bool { return completed() >= before+3 })
	for id, n := range nodes {
		if id != leaderID {
			if r, err := n.ready(); err != nil || r.Code != 200 {
				t.Fatalf("survivor %s not ready: %+v %v", id, r, err)
			}
		}
	}

	// One job per period, each attempted once (a job the killed node was
	// working stays running until River rescues it); periods are missed
	// only around the kill.
	runs := cleanupRuns(t, db)
	seen := map[time.Time]int64{}
	var periods []time.Time
	for _, r := range runs {
		p := r.scheduledAt.Truncate(every)
		if other, dup := seen[p]; dup {
			t.Errorf("jobs %d and %d both in period %s", other, r.id, p.Format(time.RFC3339Nano))
		}
		seen[p] = r.id
		if r.attempt > 1 || len(r.attemptedBy) > 1 {
			t.Errorf("job %d attempted %d times by %v", r.id, r.attempt, r.attemptedBy)
		}
		switch {
		case r.state == "completed":
			periods = append(periods, p)
		case r.state == "running" && slices.Equal(r.attemptedBy, []string{leaderID}):
		case r.state == "available" || r.state == "scheduled":
		default:
			t.Errorf("job %d is %s (attempted by %v)", r.id, r.state, r.attemptedBy)
		}
	}
	// Missing periods only from the one the killed node may have been
	// working until the new leader resumed scheduling.
	i := slices.IndexFunc(periods, func(p time.Time) bool { return p.After(killedAt) })
	if i < 0 {
		t.Fatal("no period completed after the kill")
	}
	resumed := periods[i]
	t.Logf("periodic scheduling resumed %s after the kill", resumed.Sub(killedAt).Round(10*time.Millisecond))
	var gaps []string
	for i := 1; i < len(periods); i++ {
		if missing := periods[i].Sub(periods[i-1]) - every; missing > 0 {
			gaps = append(gaps, fmt.Sprintf("%s before %s", missing, periods[i].Format("15:04:05")))
			if periods[i-1].Before(killedAt.Add(-2*every)) || periods[i].After(resumed) {
				t.Errorf("periods missing away from the kill: %s before %s", missing, periods[i].Format(time.RFC3339Nano))
			}
		}
	}
	t.Logf("%d cleanup periods completed; missed while electing: %v", len(periods), gaps)
	if t.Failed() {
		t.Logf("killed at %s", killedAt.Format("15:04:05.000"))
		for _, r := range runs {
			t.Logf("job %d %s scheduled %s by %v", r.id, r.state, r.scheduledAt.Format("15:04:05.000"), r.attemptedBy)
		}
	}
}
