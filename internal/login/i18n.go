package login

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/text/language"
)

//go:embed locales/*.json
var localeFiles embed.FS

// messages is one language's catalog: message key → text. Texts may name
// {{.App}}, replaced by Tf.
type messages map[string]string

// T returns the text of key, or the key itself if the catalog lacks it
// (a test checks that every catalog has every key).
func (m messages) T(key string) string {
	if s, ok := m[key]; ok {
		return s
	}
	return key
}

// Tf is T with {{.App}} replaced by app.
func (m messages) Tf(key, app string) string {
	return strings.ReplaceAll(m.T(key), "{{.App}}", app)
}

// languages are the UI languages, the first the fallback.
var languages = []language.Tag{language.English, language.German}

var (
	catalogs = loadCatalogs()
	matcher  = language.NewMatcher(languages)
)

func loadCatalogs() map[language.Tag]messages {
	out := map[language.Tag]messages{}
	for _, tag := range languages {
		base, _ := tag.Base()
		raw, err := localeFiles.ReadFile("locales/" + base.String() + ".json")
		if err != nil {
			panic(fmt.Sprintf("login: no catalog for %s: %v", tag, err))
		}
		var m messages
		if err := json.Unmarshal(raw, &m); err != nil {
			panic(fmt.Sprintf("login: catalog %s: %v", tag, err))
		}
		out[tag] = m
	}
	return out
}

// pick chooses the page language: the first of the preferred languages
// (the user's own, then the authorization request's ui_locales) that the
// UI has, else the browser's Accept-Language, else English.
func pick(r *http.Request, preferred ...string) messages {
	var tags []language.Tag
	for _, p := range preferred {
		for _, f := range strings.Fields(p) {
			if t, err := language.Parse(f); err == nil {
				tags = append(tags, t)
			}
		}
	}
	if accept, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language")); err == nil {
		tags = append(tags, accept...)
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		i = 0
	}
	return catalogs[languages[i]]
}
