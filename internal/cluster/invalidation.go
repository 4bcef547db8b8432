package cluster

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampartiam/rampart/internal/cache"
	"github.com/rampartiam/rampart/internal/store"
)

// InvalidationOptions configure an InvalidationListener.
type InvalidationOptions struct {
	// Store delivers the invalidations (required).
	Store store.Invalidations
	// Bus receives them (required).
	Bus *cache.Bus
	// Logger receives subscription losses (default: discard).
	Logger *slog.Logger
	// Registerer, if not nil, receives the listener's metrics.
	Registerer prometheus.Registerer
	// MinBackoff and MaxBackoff bound the wait before re-subscribing
	// (defaults 100 ms and 5 s).
	MinBackoff, MaxBackoff time.Duration
}

// InvalidationListener feeds a node's caches: it keeps a subscription to
// the database's cache invalidations (store.Invalidations) and hands each
// one to the Bus. The Bus is resumed once subscribed; when the
// subscription breaks, the Bus is suspended (every cache flushed and
// bypassed) until a new subscription is established, which flushes again,
// since invalidations may have been missed in between.
type InvalidationListener struct {
	o         InvalidationOptions
	connected atomic.Bool
	resets    atomic.Int64

	connectedGauge       prometheus.Gauge
	resetsTotal          prometheus.Counter
	invalidationsTotal   prometheus.Counter
	subscriptionAttempts prometheus.Counter
}

// NewInvalidationListener returns a listener; Run starts it.
func NewInvalidationListener(o InvalidationOptions) *InvalidationListener {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
	l := &InvalidationListener{
		o: o,
		connectedGauge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rampart_cache_invalidation_connected",
			Help: "1 while the node receives cache invalidations (its caches serve), else 0."}),
		resetsTotal: prometheus.NewCounter(prometheus.CounterOpts{Name: "rampart_cache_invalidation_resets_total",
			Help: "Lost invalidation subscriptions: each flushed every cache."}),
		invalidationsTotal: prometheus.NewCounter(prometheus.CounterOpts{Name: "rampart_cache_invalidations_received_total",
			Help: "Cache invalidations received."}),
		subscriptionAttempts: prometheus.NewCounter(prometheus.CounterOpts{Name: "rampart_cache_invalidation_subscriptions_total",
			Help: "Attempts to subscribe to cache invalidations."}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(l.connectedGauge, l.resetsTotal, l.invalidationsTotal, l.subscriptionAttempts)
	}
	return l
}

// Connected reports whether the listener is subscribed (the caches serve).
func (l *InvalidationListener) Connected() bool { return l.connected.Load() }

// Resets returns how many subscriptions broke so far.
func (l *InvalidationListener) Resets() int64 { return l.resets.Load() }

// Run subscribes, re-subscribing with backoff whenever the subscription
// breaks, until ctx ends. The Bus is suspended when Run returns.
func (l *InvalidationListener) Run(ctx context.Context) {
	defer l.o.Bus.Suspend()
	backoff := l.o.MinBackoff
	failures := 0
	for {
		l.subscriptionAttempts.Inc()
		subscribed := false
		err := l.o.Store.ListenInvalidations(ctx, func() {
			subscribed = true
			if failures > 0 || l.resets.Load() > 0 {
				l.o.Logger.Info("cache invalidation subscription established again")
			}
			failures = 0
			backoff = l.o.MinBackoff
			l.o.Bus.Resume()
			l.connected.Store(true)
			l.connectedGauge.Set(1)
		}, l.deliver)
		l.o.Bus.Suspend()
		l.connected.Store(false)
		l.connectedGauge.Set(0)
		if ctx.Err() != nil {
			return
		}
		if subscribed {
			l.resets.Add(1)
			l.resetsTotal.Inc()
			l.o.Logger.Warn("cache invalidation subscription lost: caches flushed and bypassed until it is back", "err", err)
		} else {
			failures++
			level := slog.LevelDebug
			if failures == 1 {
				level = slog.LevelWarn
			}
			l.o.Logger.Log(ctx, level, "cannot subscribe to cache invalidations: caches bypassed; retrying", "err", err, "retry_in", backoff.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if !subscribed {
			backoff = min(backoff*2, l.o.MaxBackoff)
		}
	}
}

func (l *InvalidationListener) deliver(topic, key string) {
	l.invalidationsTotal.Inc()
	l.o.Bus.Invalidate(topic, key)
}
