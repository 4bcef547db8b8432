package mail

import (
	"flag"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

func TestLanguage(t *testing.T) {
	t.Parallel()
	for pref, want := range map[string]string{
		"": "en", "en": "en", "en-GB": "en", "de": "de", "de-CH": "de", "de-AT": "de", "DE": "de", "gsw": "de",
		"fr": "en", "fr-CH, de;q=0.8": "de", "de;q=0.5, en;q=0.9": "en", "not a tag!": "en", "zz": "en",
	} {
		if got := Language(pref); got != want {
			t.Errorf("Language(%q) = %q, want %q", pref, got, want)
		}
	}
}

func TestMessageValidate(t *testing.T) {
	t.Parallel()
	ok := func(mod func(m *Message)) Message {
		m := Message{InstanceID: "i", To: "bob@example.com", Kind: KindVerifyEmail, Lang: "de",
			Data: map[string]string{"code": "123456", "link": "https://id.example.com/ui/login/verify?c=x", "name": "Bob"}}
		mod(&m)
		return m
	}
	for _, tc := range []struct {
		name string
		m    Message
		want []string
	}{
		{"valid", ok(func(*Message) {}), nil},
		{"all optional keys", ok(func(m *Message) {
			m.Data["product"], m.Data["expires_minutes"], m.Data["logo_url"], m.Data["color"] = "Acme ID", "15", "https://cdn.example.com/l.png", "#12ABef"
		}), nil},
		{"test needs nothing", Message{InstanceID: "i", To: "a@example.com", Kind: KindTest}, nil},
		{"no instance, recipient, kind", Message{}, []string{"instance_id", "to", "kind"}},
		{"missing required data", ok(func(m *Message) { delete(m.Data, "code"); m.Data["link"] = "" }), []string{"data.code", "data.link"}},
		{"unknown key", ok(func(m *Message) { m.Data["cod"] = "1" }), []string{"data.cod"}},
		{"key of another kind", Message{InstanceID: "i", To: "a@example.com", Kind: KindOTP, Data: map[string]string{"code": "1", "link": "https://x.example"}}, []string{"data.link"}},
		{"header injection", ok(func(m *Message) { m.Data["name"] = "Bob\r\nBcc: eve@example.com" }), []string{"data.name"}},
		{"javascript link", ok(func(m *Message) { m.Data["link"] = "javascript:alert(1)" }), []string{"data.link"}},
		{"relative link", ok(func(m *Message) { m.Data["link"] = "/verify" }), []string{"data.link"}},
		{"http logo", ok(func(m *Message) { m.Data["logo_url"] = "http://cdn.example.com/l.png" }), []string{"data.logo_url"}},
		{"bad colour and expiry", ok(func(m *Message) { m.Data["color"], m.Data["expires_minutes"] = "red;x", "ten" }), []string{"data.color", "data.expires_minutes"}},
		{"recipient with name", ok(func(m *Message) { m.To = "Bob <bob@example.com>" }), []string{"to"}},
		{"huge value", ok(func(m *Message) { m.Data["name"] = strings.Repeat("x", 2049) }), []string{"data.name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.m.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e, ok := err.(*iam.Error)
			if !ok || e.Code != iam.Invalid || e.Field != tc.want[0] {
				t.Fatalf("err = %v, want Invalid on %v", err, tc.want)
			}
			for _, f := range tc.want {
				if !strings.Contains(e.Error(), f) {
					t.Errorf("%v does not name %s", err, f)
				}
			}
		})
	}
}

// sampleData fills every key a kind may use.
func sampleData(k Kind) map[string]string {
	d := map[string]string{"name": "Zoë <b>Ärger</b>", "expires_minutes": "15"}
	for _, key := range required[k] {
		switch key {
		case "code":
			d[key] = "493027"
		case "link":
			d[key] = "https://id.example.com/ui/login/verify?code=493027&user=u1"
		}
	}
	return d
}

// TestRenderEveryKind renders every kind in every language, compares with
// the golden files (go test ./internal/mail -run TestRenderEveryKind
// -update rewrites them), and checks what every message must have.
func TestRenderEveryKind(t *testing.T) {
	t.Parallel()
	tmpl, err := loadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Kinds {
		subjects := map[string]string{}
		for _, lang := range Languages {
			data := sampleData(k)
			r, err := tmpl.render(k, lang, data)
			if err != nil {
				t.Fatalf("%s/%s: %v", k, lang, err)
			}
			subjects[lang] = r.Subject
			all := r.Subject + r.Text + r.HTML
			if r.Subject == "" || strings.Contains(all, "<no value>") || !strings.Contains(r.Subject, DefaultProduct) {
				t.Errorf("%s/%s: subject %q, or a blank in the body", k, lang, r.Subject)
			}
			for _, key := range required[k] {
				if !strings.Contains(r.Text, data[key]) {
					t.Errorf("%s/%s: text lacks %s", k, lang, key)
				}
			}
			if data["link"] != "" && !strings.Contains(r.HTML, `href="https://id.example.com/ui/login/verify?code=493027&amp;user=u1"`) {
				t.Errorf("%s/%s: HTML lacks the escaped link", k, lang)
			}
			if strings.Contains(r.HTML, "<b>Ärger") || k != KindTest && !strings.Contains(r.HTML, "Zoë &lt;b&gt;Ärger&lt;/b&gt;") {
				t.Errorf("%s/%s: the name is not HTML-escaped", k, lang)
			}
			if !strings.Contains(r.HTML, `<html lang="`+lang+`">`) {
				t.Errorf("%s/%s: HTML language", k, lang)
			}
			golden := filepath.Join("testdata", string(k)+"."+lang+".golden")
			got := "Subject: " + r.Subject + "\n\n" + r.Text + "\n----- HTML -----\n" + r.HTML
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/mail -run TestRenderEveryKind -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s/%s differs from %s (run with -update after checking):\n%s", k, lang, golden, got)
			}
		}
		if subjects["en"] == subjects["de"] {
			t.Errorf("%s: the German subject is the English one", k)
		}
	}
	// Branding and defaults.
	r, err := tmpl.render(KindOTP, "en", map[string]string{"code": "1", "product": "Acme ID", "color": "#ff0000", "logo_url": "https://cdn.example.com/l.png"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Your Acme ID sign-in code: 1" || !strings.Contains(r.HTML, `src="https://cdn.example.com/l.png"`) ||
		!strings.Contains(r.HTML, "#ff0000") || strings.Contains(r.Text, "valid for") {
		t.Fatalf("branded: %+v", r)
	}
}

func TestCompose(t *testing.T) {
	t.Parallel()
	r := &rendered{Subject: "Bestätigen Sie Ihre E-Mail-Adresse für Rampart", Text: "Zeile 1\nZeile ü2 " + strings.Repeat("lang ", 40) + "\n",
		HTML: "<p>Grüße</p>\n"}
	date := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	raw, err := compose(&mail.Address{Name: "Rampart Tëst", Address: "noreply@rampart.test"}, &mail.Address{Name: "Zoë", Address: "zoe@example.com"},
		messageID("msg1", "noreply@rampart.test"), date, r)
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, raw)
	from, err := p.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Rampart Tëst" || from[0].Address != "noreply@rampart.test" {
		t.Fatalf("From %v (%v)", from, err)
	}
	to, err := p.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Zoë" || to[0].Address != "zoe@example.com" {
		t.Fatalf("To %v (%v)", to, err)
	}
	if d, err := p.Header.Date(); err != nil || !d.Equal(date) {
		t.Fatalf("Date %v (%v)", d, err)
	}
	if p.Subject != r.Subject || p.Header.Get("Message-ID") != "<msg1@rampart.test>" || p.Header.Get("MIME-Version") != "1.0" ||
		p.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Fatalf("headers %v, subject %q", p.Header, p.Subject)
	}
	if p.Text != strings.ReplaceAll(r.Text, "\n", "\r\n") || p.HTML != "<p>Grüße</p>\r\n" {
		t.Fatalf("text %q html %q", p.Text, p.HTML)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 78 && !strings.HasPrefix(line, "Content-Type:") {
			t.Errorf("line longer than 78 characters: %q", line)
		}
	}
	// A long subject is folded between encoded words and decodes whole.
	long := &rendered{Subject: "Ihr " + strings.Repeat("Überlanger Produktname ", 8) + "-Anmeldecode: 123456", Text: "x\n", HTML: "x\n"}
	raw, err = compose(&mail.Address{Address: "a@example.com"}, &mail.Address{Address: "b@example.com"}, "<m@example.com>", date, long)
	if err != nil {
		t.Fatal(err)
	}
	if p := parse(t, raw); p.Subject != long.Subject {
		t.Fatalf("long subject decoded as %q", p.Subject)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 78 && !strings.HasPrefix(line, "Content-Type:") {
			t.Errorf("line longer than 78 characters: %q", line)
		}
	}
	if messageID("x", "no-at-sign") != "<x@rampart.invalid>" {
		t.Error("Message-ID without a sender domain")
	}
}
