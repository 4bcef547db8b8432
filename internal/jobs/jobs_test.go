package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/store/postgres"
	"github.com/rampartiam/rampart/internal/store/sqlite"
	"github.com/rampartiam/rampart/internal/testenv"
)

// TestOutbox: a job enqueued in a transaction exists exactly when the
// transaction commits, and is then worked.
func TestOutbox(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		w := newRecordWorker()
		j := newJobs(t, Options{Store: s, Register: func(ws *river.Workers) { river.AddWorker(ws, w) }})
		ctx := t.Context()
		errRollback := errors.New("roll back")
		appendEvent := func(q store.Queries) error {
			_, err := q.AuditEventAppend(ctx, &store.AuditEventAppendParams{
				InstanceID: "outbox", Actor: "a", AggregateType: "t", AggregateID: "i", EventType: "e", Now: time.Now()})
			return err
		}
		err := s.WithTx(ctx, func(tx store.Queries) error {
			if err := appendEvent(tx); err != nil {
				return err
			}
			if err := j.Enqueue(ctx, tx, recordArgs{N: 1}, nil); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("rolled-back transaction: %v", err)
		}
		if rows := jobsOf(t, j, "test.record"); len(rows) != 0 {
			t.Fatalf("rolled-back transaction left %d jobs", len(rows))
		}
		err = s.WithTx(ctx, func(tx store.Queries) error {
			if err := appendEvent(tx); err != nil {
				return err
			}
			return j.Enqueue(ctx, tx, recordArgs{N: 2}, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
		// Outside a transaction the job is inserted on its own.
		if err := j.Enqueue(ctx, s, recordArgs{N: 3}, nil); err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, r := range jobsOf(t, j, "test.record") {
			var a recordArgs
			if err := json.Unmarshal(r.EncodedArgs, &a); err != nil {
				t.Fatal(err)
			}
			got = append(got, a.N)
		}
		if !slices.Equal(got, []int{2, 3}) {
			t.Fatalf("jobs after commit: %v, want [2 3]", got)
		}
		startJobs(t, j)
		eventually(t, 30*time.Second, "jobs worked", func() bool { return w.count(2) == 1 && w.count(3) == 1 })
		if w.count(1) != 0 {
			t.Fatal("the rolled-back job was worked")
		}
	})
}

// panicArgs is a job whose worker panics, with three attempts.
type panicArgs struct{}

func (panicArgs) Kind() string { return "test.panic" }

func (panicArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

type panicWorker struct {
	river.WorkerDefaults[panicArgs]
	calls atomic.Int32
}

func (w *panicWorker) Work(context.Context, *river.Job[panicArgs]) error {
	w.calls.Add(1)
	panic("test worker panics")
}

// failArgs is a job whose worker returns an error, with two attempts.
type failArgs struct{}

func (failArgs) Kind() string { return "test.fail" }

func (failArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 2} }

type failWorker struct{ river.WorkerDefaults[failArgs] }

func (failWorker) Work(context.Context, *river.Job[failArgs]) error {
	return errors.New("test worker fails")
}

// TestRetryThenDiscard: a panicking or failing worker is retried with
// backoff and finally discarded with every attempt's error recorded; the
// client keeps working other jobs; the metrics count it all.
func TestRetryThenDiscard(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		reg := prometheus.NewRegistry()
		pw, rw := &panicWorker{}, newRecordWorker()
		j := newJobs(t, Options{Store: s, Registerer: reg, Register: func(ws *river.Workers) {
			river.AddWorker(ws, pw)
			river.AddWorker(ws, failWorker{})
			river.AddWorker(ws, rw)
		}})
		startJobs(t, j)
		ctx := t.Context()
		for _, args := range []river.JobArgs{panicArgs{}, failArgs{}} {
			if err := j.Enqueue(ctx, s, args, nil); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			kind     string
			attempts int
			errText  string
		}{{"test.panic", 3, "test worker panics"}, {"test.fail", 2, "test worker fails"}} {
			var row *rivertype.JobRow
			eventually(t, 60*time.Second, tc.kind+" discarded", func() bool {
				rows := jobsOf(t, j, tc.kind)
				if len(rows) != 1 {
					return false
				}
				row = rows[0]
				return row.State == rivertype.JobStateDiscarded
			})
			if row.Attempt != tc.attempts || len(row.Errors) != tc.attempts || row.FinalizedAt == nil {
				t.Fatalf("%s: attempt %d, %d errors, finalized %v; want %d attempts with errors", tc.kind, row.Attempt, len(row.Errors), row.FinalizedAt, tc.attempts)
			}
			for i, e := range row.Errors {
				if e.Attempt != i+1 || !strings.Contains(e.Error, tc.errText) {
					t.Errorf("%s: error %d = attempt %d %q", tc.kind, i, e.Attempt, e.Error)
				}
			}
			if tc.kind == "test.panic" && row.Errors[0].Trace == "" {
				t.Error("panic recorded without a stack trace")
			}
		}
		if pw.calls.Load() != 3 {
			t.Fatalf("panicking worker called %d times, want 3", pw.calls.Load())
		}
		// The client is still working.
		if err := j.Enqueue(ctx, s, recordArgs{N: 7}, nil); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "a job after the failures worked", func() bool { return rw.count(7) == 1 })
		if err := j.Healthy(); err != nil {
			t.Fatalf("healthy after failures: %v", err)
		}
		eventually(t, 10*time.Second, "metrics counted", func() bool {
			return counter(t, reg, "rampart_jobs_completed_total", "test.record") == 1 &&
				counter(t, reg, "rampart_jobs_discarded_total", "test.panic") == 1 &&
				counter(t, reg, "rampart_jobs_discarded_total", "test.fail") == 1
		})
		for _, c := range []struct {
			name, kind string
			want       float64
		}{
			{"rampart_jobs_failed_total", "test.panic", 3},
			{"rampart_jobs_retried_total", "test.panic", 2},
			{"rampart_jobs_failed_total", "test.fail", 2},
			{"rampart_jobs_retried_total", "test.fail", 1},
		} {
			if got := counter(t, reg, c.name, c.kind); got != c.want {
				t.Errorf("%s{kind=%q} = %v, want %v", c.name, c.kind, got, c.want)
			}
		}
	})
}

// TestPeriodic: with short intervals, the leader runs every periodic job
// once per period: cleanup removes expired tokens, retention old audit
// events, and the rotation and maintenance hooks run.
func TestPeriodic(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		now := time.Now().UTC().Truncate(time.Microsecond)
		in, err := s.InstanceCreate(ctx, &store.InstanceCreateParams{Instance: &iam.Instance{
			ID: iam.NewID(), Name: "Periodic", PrimaryDomain: "periodic.example", State: iam.InstanceActive}, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		org, err := s.OrgCreate(ctx, &store.OrgCreateParams{Org: &iam.Organization{ID: iam.NewID(), InstanceID: in.ID, Name: "Org", State: iam.StateActive}, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.UserCreate(ctx, &store.UserCreateParams{User: &iam.User{ID: iam.NewID(), InstanceID: in.ID, OrgID: org.ID, Type: iam.UserMachine,
			LoginName: "robot", State: iam.UserActive, Machine: &iam.MachineProfile{Name: "Robot"}}, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		token := func(exp time.Time) *iam.PersonalAccessToken {
			id := iam.NewID()
			tok, err := s.PersonalAccessTokenCreate(ctx, &store.PersonalAccessTokenCreateParams{
				Token: &iam.PersonalAccessToken{ID: id, InstanceID: in.ID, UserID: u.ID, TokenHash: []byte(id), ExpiresAt: exp}, Now: now.Add(-48 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		// More expired tokens than one batch.
		for range 5 {
			token(now.Add(-time.Hour))
		}
		live := token(now.Add(24 * time.Hour))
		// Protocol state expires with the same job: auth requests stand in
		// for the instance-scoped rows, signing keys for the global ones.
		authRequest := func(exp time.Time) *iam.AuthRequest {
			r := &iam.AuthRequest{ID: iam.NewID(), InstanceID: in.ID, ClientID: "c", RedirectURI: "https://c.example/cb",
				CreatedAt: exp.Add(-time.Hour), ExpiresAt: exp}
			if err := s.AuthRequestCreate(ctx, &store.AuthRequestCreateParams{Request: r}); err != nil {
				t.Fatal(err)
			}
			return r
		}
		expiredRequests := []*iam.AuthRequest{authRequest(now.Add(-time.Hour)), authRequest(now.Add(-time.Minute)), authRequest(now.Add(-time.Second))}
		liveRequest := authRequest(now.Add(24 * time.Hour))
		for gen, retire := range []time.Time{now.Add(-time.Hour), now.Add(24 * time.Hour)} {
			if err := s.SigningKeyCreate(ctx, &store.SigningKeyCreateParams{Key: &iam.SigningKey{ID: fmt.Sprint("kid-", gen), Generation: int64(gen),
				Algorithm: "ES256", PrivateKey: []byte{1}, PublicKey: []byte("{}"), CreatedAt: retire.Add(-48 * time.Hour),
				NotBefore: retire.Add(-48 * time.Hour), NotAfter: retire.Add(-24 * time.Hour), RetireAt: retire}}); err != nil {
				t.Fatal(err)
			}
		}
		event := func(at time.Time) {
			if _, err := s.AuditEventAppend(ctx, &store.AuditEventAppendParams{InstanceID: in.ID, Actor: "a", AggregateType: "t",
				AggregateID: "i", EventType: "e", Now: at}); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			event(now.Add(-48 * time.Hour))
		}
		event(now)

		var rotations, maintenance atomic.Int32
		const every = time.Second
		reg := prometheus.NewRegistry()
		j := newJobs(t, Options{
			Store: s, NodeID: "node-periodic", Registerer: reg,
			CleanupInterval: every, AuditRetention: 24 * time.Hour, BatchSize: 2,
			RotateKeys:          func(context.Context) error { rotations.Add(1); return nil },
			KeyRotationInterval: every,
			Maintenance:         []Step{{Name: "count", Run: func(context.Context) error { maintenance.Add(1); return nil }}},
			MaintenanceInterval: every,
		})
		startJobs(t, j)
		eventually(t, 60*time.Second, "three periods of rotation and maintenance", func() bool {
			return rotations.Load() >= 3 && maintenance.Load() >= 3
		})
		tokens, err := s.PersonalAccessTokenList(ctx, &store.PersonalAccessTokenListParams{InstanceID: in.ID, UserID: u.ID})
		if err != nil || len(tokens) != 1 || tokens[0].ID != live.ID {
			t.Fatalf("tokens after cleanup: %v, %v; want only the live one", tokens, err)
		}
		for _, r := range append(expiredRequests, liveRequest) {
			_, err := s.AuthRequestGet(ctx, &store.AuthRequestGetParams{InstanceID: in.ID, ID: r.ID, Now: r.CreatedAt})
			if live := r == liveRequest; (err == nil) != live {
				t.Fatalf("auth request expiring %s after cleanup: err %v, want found %v", r.ExpiresAt, err, live)
			}
		}
		keys, err := s.SigningKeyList(ctx, &store.SigningKeyListParams{Now: now.Add(-48 * time.Hour)})
		if err != nil || len(keys) != 1 || keys[0].ID != "kid-1" {
			t.Fatalf("signing keys after cleanup: %v, %v; want only kid-1", keys, err)
		}
		events, err := s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: in.ID})
		if err != nil || len(events) != 1 || !events[0].CreatedAt.Equal(now) {
			t.Fatalf("audit events after retention: %v, %v; want only the recent one", events, err)
		}
		leader, err := j.Leader(ctx)
		if err != nil || leader != "node-periodic" {
			t.Fatalf("leader = %q, %v", leader, err)
		}
		if got := counter(t, reg, "rampart_jobs_leader_elections_total", ""); got != 1 {
			t.Errorf("elections = %v, want 1", got)
		}
		for _, kind := range []string{KindCleanup, KindAuditRetention, KindKeyRotation, KindMaintenance} {
			if got := len(periodBuckets(t, jobsOf(t, j, kind), every)); got < 2 {
				t.Errorf("%s completed in %d periods, want at least 2", kind, got)
			}
		}
		eventually(t, 10*time.Second, "completed maintenance jobs counted", func() bool {
			return counter(t, reg, "rampart_jobs_completed_total", KindMaintenance) >= 3
		})
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]bool{}
		for _, mf := range mfs {
			if mf.GetName() == "rampart_jobs" {
				for _, m := range mf.GetMetric() {
					states[m.GetLabel()[0].GetValue()] = true
				}
			}
		}
		if len(states) != 4 {
			t.Errorf("rampart_jobs gauge states %v, want available, running, retryable, scheduled", states)
		}
	})
}

// TestWaitsForSchema: a client started on an unmigrated database (a node
// with --no-migrate) is unhealthy until the schema is migrated, then
// starts by itself.
func TestWaitsForSchema(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			var s store.Store
			var err error
			if backend == "sqlite" {
				s, err = sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "r.db"), AppVersion: testenv.AppVersion})
			} else {
				s, err = postgres.Open(t.Context(), postgres.Options{URL: pgtest.NewDatabase(t), AppVersion: testenv.AppVersion})
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			j := newJobs(t, Options{Store: s})
			if err := j.Healthy(); !errors.Is(err, errNotStarted) {
				t.Fatalf("before start: %v", err)
			}
			if err := j.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			eventually(t, 30*time.Second, "waiting for the schema", func() bool { return errors.Is(j.Healthy(), errWaitingSchema) })
			if err := s.Migrator().Up(t.Context(), nil); err != nil {
				t.Fatal(err)
			}
			eventually(t, 30*time.Second, "healthy after migration", func() bool { return j.Healthy() == nil })
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			if err := j.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if err := j.Healthy(); !errors.Is(err, errStopped) {
				t.Fatalf("after stop: %v", err)
			}
		})
	}
}

// TestGracefulStop: Stop lets a running job finish; with a shorter
// deadline it cancels the job instead.
func TestGracefulStop(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		for _, tc := range []struct {
			name     string
			deadline time.Duration
			finished bool
		}{{"finishes", 30 * time.Second, true}, {"cancelled", 200 * time.Millisecond, false}} {
			t.Run(tc.name, func(t *testing.T) {
				started := make(chan struct{})
				release := make(chan struct{})
				var finished, cancelled atomic.Bool
				w := river.WorkFunc(func(ctx context.Context, job *river.Job[slowArgs]) error {
					close(started)
					select {
					case <-release:
						finished.Store(true)
						return nil
					case <-ctx.Done():
						cancelled.Store(true)
						return ctx.Err()
					}
				})
				j := newJobs(t, Options{Store: s, Register: func(ws *river.Workers) { river.AddWorker(ws, w) }})
				startJobs(t, j)
				if err := j.Enqueue(t.Context(), s, slowArgs{Name: tc.name}, nil); err != nil {
					t.Fatal(err)
				}
				<-started
				ctx, cancel := context.WithTimeout(t.Context(), tc.deadline)
				defer cancel()
				stopped := make(chan error, 1)
				go func() { stopped <- j.Stop(ctx) }()
				if tc.finished {
					close(release)
				}
				err := <-stopped
				if tc.finished != (err == nil) || finished.Load() != tc.finished || cancelled.Load() == tc.finished {
					t.Fatalf("stop = %v, job finished %v cancelled %v", err, finished.Load(), cancelled.Load())
				}
			})
		}
	})
}

type slowArgs struct {
	Name string `json:"name"`
}

func (slowArgs) Kind() string { return "test.slow" }

// TestSQLiteConcurrentWrites: River's handle and the store's writer write
// the same file at once without SQLITE_BUSY failures on either side: store
// transactions that enqueue (outbox) race with River fetching and
// completing jobs whose workers write through the store as well.
func TestSQLiteConcurrentWrites(t *testing.T) {
	t.Parallel()
	s := testenv.NewStore(t, "sqlite")
	ctx := t.Context()
	logger, logs := testLogger(t)
	var worked atomic.Int32
	w := river.WorkFunc(func(ctx context.Context, job *river.Job[recordArgs]) error {
		_, err := s.AuditEventAppend(ctx, &store.AuditEventAppendParams{InstanceID: "w", Actor: "worker", AggregateType: "job",
			AggregateID: fmt.Sprint(job.Args.N), EventType: "worked", Now: time.Now()})
		if err == nil {
			worked.Add(1)
		}
		return err
	})
	j := newJobs(t, Options{Store: s, Logger: logger, Concurrency: 4, Register: func(ws *river.Workers) { river.AddWorker(ws, w) }})
	startJobs(t, j)
	const writers, perWriter = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for g := range writers {
		wg.Go(func() {
			for i := range perWriter {
				n := g*perWriter + i
				errs <- s.WithTx(ctx, func(tx store.Queries) error {
					if _, err := tx.AuditEventAppend(ctx, &store.AuditEventAppendParams{InstanceID: "w", Actor: "writer",
						AggregateType: "job", AggregateID: fmt.Sprint(n), EventType: "enqueued", Now: time.Now()}); err != nil {
						return err
					}
					return j.Enqueue(ctx, tx, recordArgs{N: n}, nil)
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("store transaction: %v", err)
		}
	}
	eventually(t, 60*time.Second, "every job worked and completed", func() bool {
		rows := jobsOf(t, j, "test.record")
		for _, r := range rows {
			if r.State != rivertype.JobStateCompleted {
				return false
			}
		}
		return len(rows) == writers*perWriter
	})
	for _, r := range jobsOf(t, j, "test.record") {
		if r.Attempt != 1 || len(r.Errors) != 0 {
			t.Fatalf("job %d: %d attempts (errors %v)", r.ID, r.Attempt, r.Errors)
		}
	}
	if worked.Load() != writers*perWriter {
		t.Fatalf("workers wrote %d times, want %d", worked.Load(), writers*perWriter)
	}
	if l := logs.String(); strings.Contains(l, "SQLITE_BUSY") || strings.Contains(l, "database is locked") || strings.Contains(l, "level=ERROR") {
		t.Fatalf("River logged lock errors:\n%s", l)
	}
}
