package crypto

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

func TestParseMasterKey(t *testing.T) {
	t.Parallel()
	raw := make([]byte, KeySize)
	for i := range raw {
		raw[i] = byte(250 + i) // wraps around, so the encodings contain + / - _
	}
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "standard padded", in: base64.StdEncoding.EncodeToString(raw)},
		{name: "standard unpadded", in: base64.RawStdEncoding.EncodeToString(raw)},
		{name: "url padded", in: base64.URLEncoding.EncodeToString(raw)},
		{name: "url unpadded", in: base64.RawURLEncoding.EncodeToString(raw)},
		{name: "surrounding whitespace", in: "  " + base64.StdEncoding.EncodeToString(raw) + "\n"},
		{name: "empty", in: " \n", wantErr: "empty"},
		{name: "not base64", in: "this is not a key!", wantErr: "not valid base64"},
		{name: "too short", in: base64.StdEncoding.EncodeToString(raw[:16]), wantErr: "16 bytes, want 32"},
		{name: "too long", in: base64.StdEncoding.EncodeToString(append(raw, 1)), wantErr: "33 bytes, want 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := ParseMasterKey(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseMasterKey: %v", err)
				}
				if want := keyIDOf(t, raw); k.ID() != want {
					t.Errorf("ID() = %s, want %s", k.ID(), want)
				}
				return
			}
			if err == nil {
				t.Fatal("ParseMasterKey succeeded, want error")
			}
			msg := err.Error()
			for _, want := range []string{tt.wantErr, "openssl rand -base64 32"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			if s := strings.TrimSpace(tt.in); s != "" && strings.Contains(msg, s) {
				t.Errorf("error %q echoes the key", msg)
			}
		})
	}
}

// keyIDOf parses raw's encoding and returns its ID, checking the ID's shape.
func keyIDOf(t *testing.T, raw []byte) string {
	t.Helper()
	k, err := ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(k.ID()) != 16 {
		t.Fatalf("ID() = %q, want 16 hex digits", k.ID())
	}
	return k.ID()
}

func TestGenerateMasterKey(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 10 {
		s, err := GenerateMasterKey()
		if err != nil {
			t.Fatal(err)
		}
		k, err := ParseMasterKey(s)
		if err != nil {
			t.Fatalf("generated key does not parse: %v", err)
		}
		if seen[k.ID()] {
			t.Fatalf("GenerateMasterKey repeated key %s", k.ID())
		}
		seen[k.ID()] = true
	}
}

func TestKeyDoesNotPrintSecret(t *testing.T) {
	t.Parallel()
	s, _ := GenerateMasterKey()
	k, err := ParseMasterKey(s)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(s)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		for name, v := range map[string]any{"pointer": k, "value": *k} {
			t.Run(verb+" "+name, func(t *testing.T) {
				t.Parallel()
				out := fmt.Sprintf(verb, v)
				if !strings.Contains(out, k.ID()) && verb != "%x" {
					t.Errorf("%s = %q, want the key ID", verb, out)
				}
				if strings.Contains(out, s) || strings.Contains(out, fmt.Sprintf("%x", raw)) || strings.Contains(out, fmt.Sprint(raw[:8])) {
					t.Errorf("%s = %q leaks the key", verb, out)
				}
			})
		}
	}
}
