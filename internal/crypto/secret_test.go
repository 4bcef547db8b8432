package crypto

import (
	"strings"
	"testing"
)

func TestSecretHasher(t *testing.T) {
	t.Parallel()
	k1, _ := ParseMasterKey("dGVzdC1vbmx5LW1hc3Rlci1rZXktMzItYnl0ZXMhISE=")
	k2, _ := ParseMasterKey("YmVuY2gtb25seS1tYXN0ZXIta2V5LTMyLWJ5dGVzISE=")
	h1, h2 := NewSecretHasher(NewKeyring(k1)), NewSecretHasher(NewKeyring(k2))
	s := NewSecret("rpat_")
	if !strings.HasPrefix(s, "rpat_") || len(s) != len("rpat_")+43 {
		t.Fatalf("secret %q: want prefix and 43 base64 characters", s)
	}
	if s == NewSecret("rpat_") {
		t.Fatal("two secrets are equal")
	}
	hash := h1.Hash(s)
	if !h1.Verify(s, hash) {
		t.Fatal("own hash does not verify")
	}
	for name, ok := range map[string]bool{
		"other secret":     h1.Verify(NewSecret("rpat_"), hash),
		"other master key": h2.Verify(s, hash),
		"truncated hash":   h1.Verify(s, hash[:31]),
		"empty hash":       h1.Verify(s, nil),
	} {
		if ok {
			t.Errorf("%s verified", name)
		}
	}
}
