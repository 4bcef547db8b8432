package login

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rampartiam/rampart/internal/cache"
)

// ipLimiter is a per-client token bucket on credential checks (login and
// device form posts): each client address may try perMinute times a
// minute, with bursts up to perMinute, per instance. Buckets live in a
// bounded LRU, so a flood of addresses cannot exhaust memory (an evicted
// bucket starts full again — the per-user lockout still applies).
//
// The limit is per node: behind a load balancer with N nodes a client may
// try up to N times the limit; the per-user lockout policy is the
// cluster-wide guard.
type ipLimiter struct {
	perMinute func(instanceID string) int
	now       func() time.Time
	buckets   *cache.Cache[bucketKey, *bucket]
}

type bucketKey struct{ instanceID, ip string }

type bucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newIPLimiter(perMinute func(instanceID string) int, now func() time.Time) *ipLimiter {
	if now == nil {
		now = time.Now
	}
	return &ipLimiter{perMinute: perMinute, now: now, buckets: cache.New[bucketKey, *bucket]("login_ip_buckets", 100_000, 10*time.Minute, nil)}
}

// allow takes a token for the request's client in the instance and
// reports whether there was one.
func (l *ipLimiter) allow(instanceID string, r *http.Request) bool {
	limit := l.perMinute(instanceID)
	if limit <= 0 {
		return true
	}
	key := bucketKey{instanceID, clientIP(r)}
	b, err := l.buckets.GetOrLoad(key, func() (*bucket, error) {
		return &bucket{tokens: float64(limit), last: l.now()}, nil
	})
	if err != nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := l.now()
	b.tokens = min(float64(limit), b.tokens+now.Sub(b.last).Minutes()*float64(limit))
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// clientIP is the client's address: the connection's peer, or — when the
// peer is one of the configured trusted proxies — the client it forwarded
// for (the server's middleware has put it in RemoteAddr). Forwarded
// headers are never read here: from anyone else a client could name any
// address in them.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		// Group IPv6 clients by /64: one host has many addresses.
		return ip.Mask(net.CIDRMask(64, 128)).String()
	}
	return host
}
