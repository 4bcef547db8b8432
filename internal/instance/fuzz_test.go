package instance_test

import (
	"testing"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/instance"
)

// FuzzHostDomain feeds arbitrary Host headers through the instance lookup
// key derivation: it must never panic, must be idempotent, and whatever it
// accepts as a valid domain must be in canonical form.
func FuzzHostDomain(f *testing.F) {
	for _, s := range []string{"example.com", "Example.COM:8080", "[::1]:80", "[::1]", "127.0.0.1", "a..b", ":", "[", "]:", "x.:1", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		d := instance.HostDomain(host)
		if iam.ValidateDomain(d) == "" {
			if again := instance.HostDomain(d); again != d {
				t.Fatalf("HostDomain not idempotent on valid domain: %q -> %q -> %q", host, d, again)
			}
			if iam.NormalizeDomain(d) != d {
				t.Fatalf("valid domain %q not canonical", d)
			}
		}
	})
}
