package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// metrics are the job metrics of one node. The counters come from River's
// event stream of this node's client; the state gauge is read from the
// database at every scrape and so covers the whole cluster.
type metrics struct {
	completed, failed, retried, discarded *prometheus.CounterVec
	elections                             prometheus.Counter
	states                                *stateCollector
}

func newMetrics(b backend, log *slog.Logger) *metrics {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"kind"})
	}
	return &metrics{
		completed: counter("rampart_jobs_completed_total", "Jobs this node completed, by kind."),
		failed:    counter("rampart_jobs_failed_total", "Job attempts on this node that returned an error or panicked, by kind (retried or discarded)."),
		retried:   counter("rampart_jobs_retried_total", "Failed job attempts on this node that will be retried, by kind."),
		discarded: counter("rampart_jobs_discarded_total", "Jobs discarded on this node after their last failed attempt, by kind."),
		elections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rampart_jobs_leader_elections_total",
			Help: "Times this node was elected the job leader, which schedules periodic jobs.",
		}),
		states: &stateCollector{b: b, log: log, desc: prometheus.NewDesc("rampart_jobs",
			"Jobs in the database (whole cluster) by state: available, running, retryable, scheduled.", []string{"state"}, nil)},
	}
}

func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.completed, m.failed, m.retried, m.discarded, m.elections, m.states} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// consume counts events until ch is closed.
func (m *metrics) consume(ch <-chan *river.Event) {
	for ev := range ch {
		if ev.Job == nil {
			continue
		}
		kind := ev.Job.Kind
		switch ev.Kind {
		case river.EventKindJobCompleted:
			m.completed.WithLabelValues(kind).Inc()
		case river.EventKindJobFailed:
			m.failed.WithLabelValues(kind).Inc()
			if ev.Job.State == rivertype.JobStateDiscarded {
				m.discarded.WithLabelValues(kind).Inc()
			} else {
				m.retried.WithLabelValues(kind).Inc()
			}
		}
	}
}

// stateCollector reads the number of jobs by state at scrape time with one
// query.
type stateCollector struct {
	b    backend
	log  *slog.Logger
	desc *prometheus.Desc
}

// scrapeTimeout bounds the state query of one scrape.
const scrapeTimeout = 2 * time.Second

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	available, running, retryable, scheduled, err := c.b.countByState(ctx)
	if err != nil {
		// No sample rather than a wrong one; the database check reports
		// outages.
		c.log.Debug("cannot count jobs by state", "err", err)
		return
	}
	for state, n := range map[string]int64{"available": available, "running": running, "retryable": retryable, "scheduled": scheduled} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), state)
	}
}
