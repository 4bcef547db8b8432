package mail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/jobs"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// logBuffer collects a test's logs; they are printed if the test fails.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// bundle is a test's store, keyring, instance and mail service.
type bundle struct {
	s     store.Store
	kr    *crypto.Keyring
	svc   *Service
	in    *iam.Instance
	logs  *logBuffer
	dials atomic.Int32
	jobs  *jobs.Jobs
}

// setupOptions configure setup.
type setupOptions struct {
	// Default is the configured default SMTP server.
	Default *iam.SMTPSettings
	// Jobs starts a job client with the delivery worker.
	Jobs bool
}

func setup(t *testing.T, s store.Store, o setupOptions) *bundle {
	t.Helper()
	raw, err := crypto.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := crypto.ParseMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{s: s, kr: crypto.NewKeyring(key), logs: &logBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", b.logs)
		}
	})
	log := slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	b.svc, err = New(s, Options{
		Keyring: b.kr, Default: o.Default, Logger: log, HeloName: "test.example", RootCAs: newTestCert(t).pool,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			b.dials.Add(1)
			return dialer.DialContext(ctx, network, addr)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	b.in = must[*iam.Instance](t)(s.InstanceCreate(t.Context(), &store.InstanceCreateParams{
		Instance: &iam.Instance{ID: iam.NewID(), Name: "Tenant", PrimaryDomain: iam.NewID()[24:] + ".example", State: iam.InstanceActive},
		Now:      time.Now(),
	}))
	if !o.Jobs {
		return b
	}
	b.jobs, err = jobs.New(jobs.Options{
		Store: s, Logger: log, Register: b.svc.Register, RetryPolicy: fastRetry{}, FetchPollInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	b.svc.SetEnqueuer(b.jobs)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.jobs.Stop(ctx); err != nil {
			t.Errorf("stop jobs: %v", err)
		}
	})
	if err := b.jobs.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "job client healthy", func() bool { return b.jobs.Healthy() == nil })
	return b
}

// fastRetry retries after 50 ms instead of River's attempt⁴ seconds.
type fastRetry struct{}

func (fastRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(50 * time.Millisecond) }

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not %s after %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantCode(t *testing.T, what string, err error, code iam.Code) {
	t.Helper()
	if iam.ErrorCode(err) != code {
		t.Fatalf("%s: err = %v, want %s", what, err, code)
	}
}

// settingsFor returns settings for the test server at addr.
func settingsAt(instanceID, addr string, tls iam.SMTPTLSMode) *iam.SMTPSettings {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return &iam.SMTPSettings{InstanceID: instanceID, Host: host, Port: p, TLS: tls, FromAddress: "noreply@rampart.test", FromName: "Rampart Tëst"}
}

// parsed is a received message taken apart.
type parsed struct {
	Header     mail.Header
	Subject    string
	Text, HTML string
}

// parse reads a message as a mail client would: the headers, the decoded
// subject, and both parts of the multipart/alternative body, decoded.
func parse(t *testing.T, data []byte) *parsed {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\n")) {
		t.Fatal("message has bare LF line endings")
	}
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	p := &parsed{Header: m.Header}
	if p.Subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q (%v)", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var types []string
	for {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if part.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
			t.Fatalf("part encoding %q", part.Header.Get("Content-Transfer-Encoding"))
		}
		body, err := io.ReadAll(quotedprintable.NewReader(part))
		if err != nil {
			t.Fatal(err)
		}
		ct := part.Header.Get("Content-Type")
		types = append(types, ct)
		switch ct {
		case "text/plain; charset=utf-8":
			p.Text = string(body)
		case "text/html; charset=utf-8":
			p.HTML = string(body)
		}
	}
	if strings.Join(types, ",") != "text/plain; charset=utf-8,text/html; charset=utf-8" {
		t.Fatalf("parts %q, want text then HTML", types)
	}
	return p
}
