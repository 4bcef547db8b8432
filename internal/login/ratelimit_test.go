package login

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/testenv"
)

func TestIPLimiter(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	limits := map[string]int{"a": 3, "off": 0}
	l := newIPLimiter(func(instanceID string) int { return limits[instanceID] }, clock.Now)
	from := func(addr string) bool {
		r := httptest.NewRequest("POST", "/ui/login", nil)
		r.RemoteAddr = addr
		return l.allow("a", r)
	}
	for i := range 3 {
		if !from("192.0.2.1:1000") {
			t.Fatalf("attempt %d refused within the limit", i+1)
		}
	}
	if from("192.0.2.1:1001") {
		t.Fatal("fourth attempt in a minute allowed")
	}
	if !from("192.0.2.2:1000") {
		t.Fatal("another address was limited too")
	}
	// One address of a /64 stands for all of them.
	for i := range 3 {
		if !from("[2001:db8::1]:443") {
			t.Fatalf("IPv6 attempt %d refused", i+1)
		}
	}
	if from("[2001:db8::ffff]:443") {
		t.Fatal("another address of the same /64 was not limited")
	}
	clock.Add(20 * time.Second) // one token back (3 a minute)
	if !from("192.0.2.1:1000") || from("192.0.2.1:1000") {
		t.Fatal("refill after 20 s: want exactly one more attempt")
	}
	r := httptest.NewRequest("POST", "/ui/login", nil)
	for range 100 {
		if !l.allow("off", r) {
			t.Fatal("limited where the limit is off")
		}
	}
}
