package mail

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// received is one message the test SMTP server accepted.
type received struct {
	From     string
	To       []string
	Data     []byte
	TLS      bool
	AuthUser string
}

// smtpOptions configure a test SMTP server.
type smtpOptions struct {
	// StartTLS offers STARTTLS (with the test certificate); Implicit speaks
	// TLS from the first byte.
	StartTLS, Implicit bool
	// Users may authenticate (user name → password); Mechanisms are the
	// offered SASL mechanisms (default PLAIN).
	Users      map[string]string
	Mechanisms []string
	// RejectRcpt answers RCPT TO for these addresses with 550.
	RejectRcpt map[string]bool
	// Addr is the address to listen at; 127.0.0.1:0 if empty.
	Addr string
}

// smtpServer is a real SMTP server (github.com/emersion/go-smtp) in the
// test process that records the messages it accepts.
type smtpServer struct {
	addr string
	srv  *gosmtp.Server
	got  chan *received
}

// testCert is a self-signed certificate for localhost and 127.0.0.1, and
// a pool that trusts it.
type testCert struct {
	cert tls.Certificate
	pool *x509.CertPool
}

var (
	certOnce sync.Once
	certVal  *testCert
	certErr  error
)

func newTestCert(t *testing.T) *testCert {
	t.Helper()
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			certErr = err
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			certErr = err
			return
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			certErr = err
			return
		}
		pool := x509.NewCertPool()
		pool.AddCert(leaf)
		certVal = &testCert{cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool: pool}
	})
	if certErr != nil {
		t.Fatal(certErr)
	}
	return certVal
}

// startSMTP starts a server; it stops when the test ends.
func startSMTP(t *testing.T, o smtpOptions) *smtpServer {
	t.Helper()
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var l net.Listener
	var err error
	// Rebinding the address of a stopped server may take a moment.
	for deadline := time.Now().Add(10 * time.Second); ; {
		l, err = net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{addr: l.Addr().String(), got: make(chan *received, 100)}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &session{o: &o, conn: c, s: s}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = discardLog{}
	if o.StartTLS || o.Implicit {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{newTestCert(t).cert}}
	}
	if o.Implicit {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	s.srv = srv
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(s.stop)
	return s
}

// stop closes the server and its connections.
func (s *smtpServer) stop() { _ = s.srv.Close() }

// wait returns the next accepted message, failing the test after timeout.
func (s *smtpServer) wait(t *testing.T, timeout time.Duration) *received {
	t.Helper()
	select {
	case m := <-s.got:
		return m
	case <-time.After(timeout):
		t.Fatalf("no message arrived at %s within %s", s.addr, timeout)
		return nil
	}
}

type discardLog struct{}

func (discardLog) Printf(string, ...any) {}
func (discardLog) Println(...any)        {}

// session is one SMTP session of the test server.
type session struct {
	o    *smtpOptions
	conn *gosmtp.Conn
	s    *smtpServer
	msg  received
}

func (ss *session) AuthMechanisms() []string {
	if len(ss.o.Users) == 0 {
		return nil
	}
	if len(ss.o.Mechanisms) > 0 {
		return ss.o.Mechanisms
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if want, ok := ss.o.Users[user]; !ok || want != pass {
			return errors.New("invalid credentials")
		}
		ss.msg.AuthUser = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case "LOGIN":
		return &loginServer{check: check}, nil
	}
	return nil, gosmtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if len(ss.o.Users) > 0 && ss.msg.AuthUser == "" {
		return gosmtp.ErrAuthRequired
	}
	ss.msg.From = from
	return nil
}

func (ss *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if ss.o.RejectRcpt[strings.ToLower(to)] {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	m := ss.msg
	m.Data = b.Bytes()
	_, m.TLS = ss.conn.TLSConnectionState()
	ss.s.got <- &m
	return nil
}

func (ss *session) Reset() { ss.msg = received{AuthUser: ss.msg.AuthUser} }

func (ss *session) Logout() error { return nil }

// loginServer is the server side of the LOGIN mechanism.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if len(response) > 0 { // initial response: the user name
			l.user, l.step = string(response), 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(response)
		return []byte("Password:"), false, nil
	case 3:
		return nil, true, l.check(l.user, string(response))
	}
	return nil, false, errors.New("unexpected response")
}
