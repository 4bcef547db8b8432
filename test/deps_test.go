package test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/rampartiam/rampart"

// TestDependencyDirection guards the architecture of DESIGN.md: the domain
// imports nothing of ours, the store port only the domain, only the
// composition root (and tests) picks a concrete backend, and test helpers
// never reach production code.
func TestDependencyDirection(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-json", "../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath string
		Imports    []string
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	rel := func(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, module), "/") }
	ours := func(path string) bool { return strings.HasPrefix(path, module) }
	isTestOnly := func(p string) bool {
		return p == "internal/pgtest" || p == "internal/testenv" || p == "internal/store/storetest" || p == "test" || p == "bench"
	}
	for _, p := range pkgs {
		from := rel(p.ImportPath)
		for _, imp := range p.Imports {
			if !ours(imp) {
				if from == "internal/iam" && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
					t.Errorf("%s imports %s: the domain imports the standard library only", from, imp)
				}
				continue
			}
			to := rel(imp)
			switch {
			case strings.HasPrefix(to, "cmd/"):
				t.Errorf("%s imports %s: nothing imports the composition root", from, to)
			case from == "internal/iam":
				t.Errorf("%s imports %s: the domain imports nothing of ours", from, to)
			case from == "internal/store" && to != "internal/iam" && to != "internal/buildinfo":
				t.Errorf("%s imports %s: the store port imports only the domain", from, to)
			case (to == "internal/store/sqlite" || to == "internal/store/postgres") && !strings.HasPrefix(from, "cmd/") && !isTestOnly(from):
				t.Errorf("%s imports %s: only cmd/rampart picks a backend", from, to)
			case isTestOnly(to) && !isTestOnly(from):
				t.Errorf("%s imports test helper %s", from, to)
			case strings.HasPrefix(from, "internal/store") && !strings.HasPrefix(to, "internal/store") && to != "internal/iam" && to != "internal/buildinfo":
				t.Errorf("%s imports %s: the store layer sits below services and transports", from, to)
			case from == "internal/server" && to != "internal/iam":
				t.Errorf("%s imports %s: the server imports only the domain", from, to)
			}
		}
	}
}
