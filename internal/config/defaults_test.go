package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

const goldenDefaults = "testdata/defaults.golden.yaml"

func TestDefaultYAMLGolden(t *testing.T) {
	t.Parallel()
	got := DefaultYAML()
	if *update {
		if err := os.WriteFile(goldenDefaults, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenDefaults)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("DefaultYAML() differs from %s (run go test ./internal/config -update after checking the change):\n%s", goldenDefaults, got)
	}
}

func TestDefaultYAMLRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "defaults.yaml")
	if err := os.WriteFile(path, DefaultYAML(), 0o600); err != nil {
		t.Fatal(err)
	}
	got, warnings, err := Load(LoadOptions{File: path})
	if err != nil {
		t.Fatalf("Load(DefaultYAML): %v", err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("Load(DefaultYAML) = %+v, want Default() = %+v", got, want)
	}
}

func TestDefaultYAMLDocumentsEveryKey(t *testing.T) {
	t.Parallel()
	out := string(DefaultYAML())
	for _, d := range keys {
		t.Run(d.key, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(out, d.env()) {
				t.Errorf("DefaultYAML does not mention %s", d.env())
			}
			if d.flag != "" && !strings.Contains(out, "--"+d.flag) {
				t.Errorf("DefaultYAML does not mention --%s", d.flag)
			}
		})
	}
}

// TestKeyTable checks the table against the Config struct: every leaf field
// has exactly one key, and env and flag names are unambiguous.
func TestKeyTable(t *testing.T) {
	t.Parallel()
	var fields []string
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for f := range typ.Fields() {
			name := prefix + f.Tag.Get("koanf")
			if f.Type.Kind() == reflect.Struct {
				walk(name+".", f.Type)
				continue
			}
			fields = append(fields, name)
		}
	}
	walk("", reflect.TypeFor[Config]())

	var tableKeys []string
	names := map[string]string{}
	claim := func(name, owner string) {
		if prev, ok := names[name]; ok {
			t.Errorf("name %s is used by both %s and %s", name, prev, owner)
		}
		names[name] = owner
	}
	for _, d := range keys {
		tableKeys = append(tableKeys, d.key)
		claim(d.env(), d.key)
		if d.secret {
			claim(d.fileEnv(), d.key)
		}
		if d.flag != "" {
			claim("--"+d.flag, d.key)
		}
		if d.secret && d.flag != "" && d.key == "masterkey" {
			t.Errorf("masterkey must not have a flag")
		}
	}
	claim(envConfigFile, "the config file")
	claim("--"+flagConfig, "the config file")
	slices.Sort(fields)
	slices.Sort(tableKeys)
	if !slices.Equal(fields, tableKeys) {
		t.Errorf("Config fields %q\ndo not match table keys %q", fields, tableKeys)
	}
}

func TestRegisterFlags(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("rampart", pflag.ContinueOnError)
	RegisterFlags(fs)
	var got []string
	fs.VisitAll(func(f *pflag.Flag) { got = append(got, f.Name) })
	want := []string{"config", "data-dir", "database", "external-url", "http-addr", "log-format", "log-level", "shutdown-drain-timeout"}
	if !slices.Equal(got, want) {
		t.Errorf("flags = %q, want %q", got, want)
	}
	if f := fs.Lookup("shutdown-drain-timeout"); f.DefValue != "30s" || f.Value.Type() != "duration" {
		t.Errorf("--shutdown-drain-timeout default %q type %q, want 30s duration", f.DefValue, f.Value.Type())
	}
	if err := fs.Parse([]string{"--shutdown-drain-timeout=soon"}); err == nil {
		t.Error("parsing a bad duration flag succeeded")
	}
}
