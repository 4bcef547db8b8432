package mail

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	htmltemplate "html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"golang.org/x/text/language"
)

//go:embed templates
var templateFiles embed.FS

// Languages lists the languages messages are written in, the fallback
// first.
var Languages = []string{"en", "de"}

var langMatcher = language.NewMatcher([]language.Tag{language.English, language.German})

// Language returns the language of Languages that best matches pref (a
// BCP 47 tag such as "de-CH", or an Accept-Language list), "en" when none
// does.
func Language(pref string) string {
	if strings.TrimSpace(pref) == "" {
		return Languages[0]
	}
	_, i := language.MatchStrings(langMatcher, pref)
	if i < 0 || i >= len(Languages) {
		return Languages[0]
	}
	return Languages[i]
}

// templates are the parsed templates of every kind and language.
type templates struct {
	text map[string]*texttemplate.Template // key kind/lang: "subject" and "text"
	html map[string]*htmltemplate.Template // key kind/lang: "layout" with "content"
}

func tmplKey(k Kind, lang string) string { return string(k) + "/" + lang }

// loadTemplates parses templates/<kind>.<lang>.txt (text/template, defines
// "subject" and "text") and templates/<kind>.<lang>.html (html/template,
// defines "content" for templates/layout.html) for every kind and
// language. A missing or broken file is an error.
func loadTemplates() (*templates, error) {
	layout, err := htmltemplate.New("layout.html").Option("missingkey=error").ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("mail: templates: %w", err)
	}
	t := &templates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	for _, k := range Kinds {
		for _, lang := range Languages {
			base := "templates/" + string(k) + "." + lang
			txt, err := texttemplate.New("").Option("missingkey=error").ParseFS(templateFiles, base+".txt")
			if err != nil {
				return nil, fmt.Errorf("mail: templates: %w", err)
			}
			if txt.Lookup("subject") == nil || txt.Lookup("text") == nil {
				return nil, fmt.Errorf("mail: templates: %s.txt must define \"subject\" and \"text\"", base)
			}
			l, err := layout.Clone()
			if err != nil {
				return nil, fmt.Errorf("mail: templates: %w", err)
			}
			html, err := l.ParseFS(templateFiles, base+".html")
			if err != nil {
				return nil, fmt.Errorf("mail: templates: %w", err)
			}
			if html.Lookup("content") == nil {
				return nil, fmt.Errorf("mail: templates: %s.html must define \"content\"", base)
			}
			t.text[tmplKey(k, lang)], t.html[tmplKey(k, lang)] = txt, html
		}
	}
	return t, nil
}

// rendered is the content of a message.
type rendered struct {
	Subject, Text, HTML string
}

// render fills the templates of kind in lang with data: every key of the
// kind is present ("" when the caller gave none), "product" defaults to
// DefaultProduct, "lang" is lang and "subject" the rendered subject (for
// the HTML part).
func (t *templates) render(k Kind, lang string, data map[string]string) (*rendered, error) {
	key := tmplKey(k, lang)
	txt, html := t.text[key], t.html[key]
	if txt == nil || html == nil {
		return nil, fmt.Errorf("no templates for %s messages in %q", k, lang)
	}
	d := map[string]string{}
	for _, name := range append(append([]string{}, required[k]...), optional...) {
		d[name] = data[name]
	}
	if d["product"] == "" {
		d["product"] = DefaultProduct
	}
	d["lang"] = lang
	var b bytes.Buffer
	if err := txt.ExecuteTemplate(&b, "subject", d); err != nil {
		return nil, fmt.Errorf("render %s subject: %w", key, err)
	}
	out := &rendered{Subject: oneLine(b.String())}
	d["subject"] = out.Subject
	b.Reset()
	if err := txt.ExecuteTemplate(&b, "text", d); err != nil {
		return nil, fmt.Errorf("render %s text: %w", key, err)
	}
	out.Text = strings.TrimSpace(b.String()) + "\n"
	b.Reset()
	if err := html.ExecuteTemplate(&b, "layout.html", d); err != nil {
		return nil, fmt.Errorf("render %s html: %w", key, err)
	}
	out.HTML = b.String()
	return out, nil
}

// oneLine collapses whitespace and drops control characters: a header
// value never spans lines.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// header is one header field of a composed message.
type header struct{ name, value string }

// compose builds the RFC 5322 message: headers (Date, From, To, Subject,
// Message-ID, MIME-Version, Auto-Submitted) and a multipart/alternative
// body (RFC 2046 §5.1.4) with the text part first and the HTML part last
// (the preferred one), both UTF-8 in quoted-printable. Lines end in CRLF.
func compose(from, to *mail.Address, messageID string, date time.Time, r *rendered) ([]byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.SetBoundary(boundary()); err != nil {
		return nil, err
	}
	for _, part := range []struct{ typ, content string }{{"text/plain", r.Text}, {"text/html", r.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(crlf(part.content))); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	headers := []header{
		{"Date", date.Format(time.RFC1123Z)},
		{"From", from.String()},
		{"To", to.String()},
		{"Subject", mime.QEncoding.Encode("utf-8", r.Subject)},
		{"Message-ID", messageID},
		{"MIME-Version", "1.0"},
		// RFC 3834 §5: generated automatically; auto-responders stay quiet.
		{"Auto-Submitted", "auto-generated"},
		{"Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()})},
	}
	var msg bytes.Buffer
	for _, h := range headers {
		msg.WriteString(fold(h.name + ": " + h.value))
	}
	msg.WriteString("\r\n")
	msg.Write(body.Bytes())
	return msg.Bytes(), nil
}

// fold writes a header field, folded at spaces so that its lines stay
// within 78 characters where possible (RFC 5322 §2.2.3); a long encoded
// subject is a series of encoded words separated by spaces (RFC 2047 §2).
func fold(field string) string {
	var b strings.Builder
	line := ""
	for i, w := range strings.Split(field, " ") {
		switch {
		case i == 0:
			line = w
		case len(line)+1+len(w) > 78:
			b.WriteString(line + "\r\n")
			line = " " + w
		default:
			line += " " + w
		}
	}
	b.WriteString(line + "\r\n")
	return b.String()
}

// messageID returns the Message-ID of a message (RFC 5322 §3.6.4): its
// unique ID at the sender's domain.
func messageID(id, fromAddress string) string {
	domain := "rampart.invalid"
	if at := strings.LastIndexByte(fromAddress, '@'); at >= 0 && at < len(fromAddress)-1 {
		domain = fromAddress[at+1:]
	}
	return "<" + id + "@" + domain + ">"
}

// boundary returns a random multipart boundary that cannot occur in
// quoted-printable text.
func boundary() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "=_rampart_" + hex.EncodeToString(b[:])
}

// crlf turns every line ending into CRLF.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}
