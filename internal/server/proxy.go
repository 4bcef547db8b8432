package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// trusted reports whether a is inside one of the prefixes.
func trusted(prefixes []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr returns the address of the client that sent r: the
// connection's peer, unless the peer is a trusted proxy; then the
// right-most address of X-Forwarded-For that is not itself a trusted proxy
// (addresses further left were written by the client and prove nothing).
// If every forwarded address is trusted, the left-most one is the client.
// A malformed X-Forwarded-For from a trusted proxy is ignored and the
// peer is the client.
func ClientAddr(r *http.Request, proxies []netip.Prefix) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	client := peer.Addr().Unmap()
	if len(proxies) == 0 || !trusted(proxies, client) {
		return client
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	addrs := make([]netip.Addr, 0, len(hops))
	for _, h := range hops {
		a, err := netip.ParseAddr(strings.TrimSpace(h))
		if err != nil {
			return client
		}
		addrs = append(addrs, a.Unmap())
	}
	for i := len(addrs) - 1; i >= 0; i-- {
		client = addrs[i]
		if !trusted(proxies, client) {
			break
		}
	}
	return client
}

// realClient replaces r.RemoteAddr with the client's address (port 0)
// when the connection comes from a trusted proxy, so that the access log,
// rate limits and audit see the client rather than the proxy.
func (s *Server) realClient(next http.Handler) http.Handler {
	if len(s.opts.TrustedProxies) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := ClientAddr(r, s.opts.TrustedProxies); a.IsValid() && r.RemoteAddr != "" {
			if peer, err := netip.ParseAddrPort(r.RemoteAddr); err == nil && peer.Addr().Unmap() != a {
				r2 := *r
				r2.RemoteAddr = net.JoinHostPort(a.String(), "0")
				r = &r2
			}
		}
		next.ServeHTTP(w, r)
	})
}
