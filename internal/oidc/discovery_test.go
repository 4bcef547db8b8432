package oidc_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampartiam/rampart/internal/oidc"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testDiscoveryGolden pins the discovery document (with the issuer's host
// and port replaced): a change to what the provider advertises is a
// deliberate one, reviewed in the golden file (go test -update).
func testDiscoveryGolden(t *testing.T, w, _ *world) {
	r := w.h.get(t, w.issuer+oidc.PathDiscovery, nil)
	if r.status != http.StatusOK {
		t.Fatalf("discovery: %d %s", r.status, r.body)
	}
	var doc map[string]any
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = []byte(strings.ReplaceAll(string(got), w.issuer, "http://ISSUER") + "\n")
	path := filepath.Join("testdata", "discovery.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/oidc -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("discovery document differs from %s (run go test ./internal/oidc -update after checking the change):\n%s", path, got)
	}
}
