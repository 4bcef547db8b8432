package store

import (
	"strings"
	"testing"
)

func TestPrefixUpper(t *testing.T) {
	t.Parallel()
	for prefix, want := range map[string]string{
		"abc":         "abd",
		"a\U0010FFFF": "b",
		"\uD7FF":      "\uE000",
		"é":           "ê",
		"\U0010FFFF":  "\U0010FFFF\U0010FFFF",
		"user-0421":   "user-0422",
		"z\xff":       "{", // invalid trailing byte is dropped, then z+1
	} {
		if got := PrefixUpper(prefix); got != want {
			t.Errorf("PrefixUpper(%q) = %q, want %q", prefix, got, want)
		}
	}
	// Every string with the prefix sorts below the bound.
	for _, s := range []string{"abc", "abc\U0010FFFF", "abcz", "abc\xff\xff"} {
		if !(s >= "abc" && s < PrefixUpper("abc")) || !strings.HasPrefix(s, "abc") {
			t.Errorf("%q outside [abc, %q)", s, PrefixUpper("abc"))
		}
	}
}
