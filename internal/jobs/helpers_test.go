package jobs

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/rampartiam/rampart/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// logBuffer collects a test's logs; they are printed if the test fails.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testLogger(t *testing.T) (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", buf)
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo})), buf
}

// fastRetry retries after 50 ms instead of River's attempt⁴ seconds.
type fastRetry struct{}

func (fastRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(50 * time.Millisecond) }

// newJobs builds a client with test timings and stops it when the test
// ends (before the store closes, which was created earlier).
func newJobs(t *testing.T, o Options) *Jobs {
	t.Helper()
	if o.FetchPollInterval == 0 {
		o.FetchPollInterval = 100 * time.Millisecond
	}
	if o.RetryPolicy == nil {
		o.RetryPolicy = fastRetry{}
	}
	if o.Logger == nil {
		o.Logger, _ = testLogger(t)
	}
	j, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// A test that stopped j with a short deadline gets that error again.
		if err := j.Stop(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("stop: %v", err)
		}
	})
	return j
}

// startJobs starts j and waits until it is healthy.
func startJobs(t *testing.T, j *Jobs) {
	t.Helper()
	if err := j.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "job client healthy", func() bool { return j.Healthy() == nil })
}

// eventually polls cond until it holds, failing the test after timeout
// (generous: the machine is slow and busy).
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not %s after %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jobsOf lists the jobs of a kind.
func jobsOf(t *testing.T, j *Jobs, kind string) []*rivertype.JobRow {
	t.Helper()
	rows, err := j.b.listJobs(t.Context(), kind)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// counter returns the value of a counter with a kind label, 0 if absent.
func counter(t *testing.T, reg *prometheus.Registry, name, kind string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := kind == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					match = true
				}
			}
			if match {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// recordArgs is a test job that records its number.
type recordArgs struct {
	N int `json:"n"`
}

func (recordArgs) Kind() string { return "test.record" }

type recordWorker struct {
	river.WorkerDefaults[recordArgs]
	mu  sync.Mutex
	got map[int]int
}

func newRecordWorker() *recordWorker { return &recordWorker{got: map[int]int{}} }

func (w *recordWorker) Work(_ context.Context, job *river.Job[recordArgs]) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got[job.Args.N]++
	return nil
}

func (w *recordWorker) count(n int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.got[n]
}

// periodBuckets checks that no two jobs of a periodic kind belong to the
// same period and returns the periods (scheduled time truncated to every)
// that have a completed job, in order.
func periodBuckets(t *testing.T, rows []*rivertype.JobRow, every time.Duration) []time.Time {
	t.Helper()
	seen := map[time.Time]int64{}
	var out []time.Time
	for _, r := range rows {
		b := r.ScheduledAt.Truncate(every)
		if other, dup := seen[b]; dup {
			t.Errorf("jobs %d and %d of %s both in period %s", other, r.ID, r.Kind, b.Format(time.RFC3339Nano))
		}
		seen[b] = r.ID
		if r.State == rivertype.JobStateCompleted {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}
