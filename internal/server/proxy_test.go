package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	cases := []struct {
		name, peer string
		xff        []string
		proxies    []netip.Prefix
		want       string
	}{
		{"no proxies configured: header ignored", "203.0.113.5:4000", []string{"198.51.100.1"}, nil, "203.0.113.5"},
		{"untrusted peer: header ignored", "203.0.113.5:4000", []string{"198.51.100.1"}, proxies, "203.0.113.5"},
		{"trusted peer, one hop", "10.0.0.2:4000", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"client-written addresses on the left are not believed", "10.0.0.2:4000", []string{"1.2.3.4, 198.51.100.1"}, proxies, "198.51.100.1"},
		{"chain of trusted proxies skipped", "10.0.0.2:4000", []string{"198.51.100.1, 10.9.9.9", "10.0.0.3"}, proxies, "198.51.100.1"},
		{"all forwarded addresses trusted: left-most", "10.0.0.2:4000", []string{"10.0.0.7, 10.0.0.8"}, proxies, "10.0.0.7"},
		{"no header from a trusted peer", "10.0.0.2:4000", nil, proxies, "10.0.0.2"},
		{"malformed header ignored", "10.0.0.2:4000", []string{"198.51.100.1, evil"}, proxies, "10.0.0.2"},
		{"IPv6 proxy", "[fd00::1]:4000", []string{"2001:db8::9"}, proxies, "2001:db8::9"},
		{"mapped IPv4 peer", "[::ffff:10.0.0.2]:4000", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientAddr(r, c.proxies); got.String() != c.want {
				t.Fatalf("ClientAddr = %s, want %s", got, c.want)
			}
		})
	}
}

func TestRealClientRewritesRemoteAddr(t *testing.T) {
	s := New(Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	var seen string
	h := s.realClient(httpHandlerFunc(func(remote string) { seen = remote }))
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:5555"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if seen != "198.51.100.1:0" {
		t.Fatalf("handler saw RemoteAddr %q", seen)
	}
	if r.RemoteAddr != "127.0.0.1:5555" {
		t.Fatalf("caller's request changed: %q", r.RemoteAddr)
	}
}

type httpHandlerFunc func(remote string)

func (f httpHandlerFunc) ServeHTTP(_ http.ResponseWriter, r *http.Request) { f(r.RemoteAddr) }
