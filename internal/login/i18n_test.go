package login

import (
	"maps"
	"net/http/httptest"
	"slices"
	"testing"
)

// TestCatalogsComplete: every language has every message of English, and
// nothing English lacks.
func TestCatalogsComplete(t *testing.T) {
	en := catalogs[languages[0]]
	for _, tag := range languages[1:] {
		c := catalogs[tag]
		for _, k := range slices.Sorted(maps.Keys(en)) {
			if c[k] == "" {
				t.Errorf("%s lacks %q", tag, k)
			}
		}
		for k := range c {
			if _, ok := en[k]; !ok {
				t.Errorf("%s has %q, English does not", tag, k)
			}
		}
	}
}

func TestPick(t *testing.T) {
	cases := []struct {
		name, accept string
		preferred    []string
		want         string
	}{
		{"default", "", nil, "en"},
		{"browser German", "de-CH,de;q=0.9,en;q=0.5", nil, "de"},
		{"browser unknown language", "fr-FR,fr;q=0.9", nil, "en"},
		{"ui_locales wins over the browser", "en-US", []string{"de"}, "de"},
		{"unknown preference falls back to the browser", "de", []string{"xx-invalid!"}, "de"},
		{"garbage header", "%%%;;q=abc", nil, "en"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/ui/login", nil)
			r.Header.Set("Accept-Language", c.accept)
			if got := pick(r, c.preferred...).T("lang"); got != c.want {
				t.Errorf("language = %s, want %s", got, c.want)
			}
		})
	}
}
