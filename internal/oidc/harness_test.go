package oidc_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/rampartiam/rampart/internal/api"
	"github.com/rampartiam/rampart/internal/api/projectapi"
	"github.com/rampartiam/rampart/internal/api/userapi"
	"github.com/rampartiam/rampart/internal/cache"
	"github.com/rampartiam/rampart/internal/cluster"
	rcrypto "github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/instance"
	"github.com/rampartiam/rampart/internal/login"
	"github.com/rampartiam/rampart/internal/member"
	"github.com/rampartiam/rampart/internal/mfa"
	"github.com/rampartiam/rampart/internal/oidc"
	"github.com/rampartiam/rampart/internal/org"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/session"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/tenant"
	"github.com/rampartiam/rampart/internal/testenv"
	"github.com/rampartiam/rampart/internal/token"
	"github.com/rampartiam/rampart/internal/user"
)

func TestMain(m *testing.M) {
	// The protocol library logs every refused request to the default
	// logger; RAMPART_TEST_OIDC_LOG=1 shows them.
	if os.Getenv("RAMPART_TEST_OIDC_LOG") == "" {
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	os.Exit(pgtest.Main(m))
}

// probeHeader names the requests whose database round trips a test reads
// back (harness.roundTrips); its value is a tag chosen by the test.
const probeHeader = "X-Rampart-Test-Probe"

// harnessOptions vary a harness.
type harnessOptions struct {
	// now is the clock of the services, the token service and the signing
	// keys; time.Now if nil.
	now func() time.Time
	// keys configure the signing keys (defaults if zero).
	keys token.KeyOptions
	// policies adjusts the login policies of every instance (defaults,
	// without the per-address limit, if nil).
	policies func(*iam.Policies)
	// orgPolicies adjusts the policies of users' organizations (asked for
	// with an org ID once the user is known); nil: as the instance's.
	orgPolicies func(*iam.Policies)
	// mail gives the login pages a mail.Service whose messages are kept in
	// harness.mailbox instead of being sent.
	mail bool
}

// harness is the OpenID Provider and the admin API in process on a real
// HTTP server, on a fresh store, with an HTTP client that reaches the
// server under any host name (an instance's issuer is
// "http://<its domain>:<port>").
type harness struct {
	backend  string
	s        store.Store
	now      func() time.Time
	bus      *cache.Bus
	insts    *instance.Service
	orgs     *org.Service
	users    *user.Service
	projects *project.Service
	members  *member.Service
	tokens   *token.Service
	factors  *mfa.Service
	sessions *session.Service
	keys     *token.Keys
	provider *oidc.Provider
	srv      *httptest.Server
	port     string
	// client does not follow redirects: the tests read every Location.
	client *http.Client

	mu sync.Mutex
	// lastRT is the round-trip count of the last request per path, and
	// per probe tag and path ("<tag> <path>").
	lastRT map[string]int64
	// mailbox holds the messages the login pages queued (harnessOptions.mail).
	mailbox *mailbox
}

func newHarness(t testing.TB, backend string, s store.Store, o harnessOptions) *harness {
	t.Helper()
	ctx := t.Context()
	if o.now == nil {
		o.now = time.Now
	}
	raw, err := rcrypto.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	mk, err := rcrypto.ParseMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	kr := rcrypto.NewKeyring(mk)
	secrets := rcrypto.NewSecretHasher(kr)
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("RAMPART_TEST_OIDC_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	// The caches of a node (instances by host, applications by client ID)
	// are on, as in production, so that round trips are counted as a
	// node serves them. Nothing delivers invalidations from the database
	// here: a test that changes an application or an instance after its
	// first use calls flushCaches.
	h := &harness{backend: backend, s: s, now: o.now, bus: cache.NewBus(), lastRT: map[string]int64{}}
	h.bus.Resume()
	caches := cache.Config{Size: 1000, Bus: h.bus}
	h.insts = instance.New(s, o.now, instance.WithCache(caches))
	h.orgs = org.New(s, o.now)
	h.members = member.New(s, o.now)
	h.users = user.New(s, user.Options{Secrets: secrets, Now: o.now,
		Passwords: &rcrypto.PasswordHasher{MemoryKiB: 64, Iterations: 1, Parallelism: 1}})
	h.projects = project.New(s, project.Options{Secrets: secrets, Now: o.now, Cache: caches})
	h.tokens = token.New(s, secrets, o.now, log)
	h.keys = token.NewKeys(s, kr, o.keys, o.now, log)
	h.bus.Handle(store.TopicSigningKeys, h.keys.Invalidate)
	if err := h.keys.Ensure(ctx); err != nil {
		t.Fatalf("ensure signing keys: %v", err)
	}
	h.provider, err = oidc.New(oidc.Options{
		Users: h.users, Projects: h.projects, Tokens: h.tokens, Keys: h.keys, Keyring: kr, Secrets: secrets,
		ExternalURL: "http://localhost", Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.provider.Ready(ctx); err != nil {
		t.Fatalf("provider not ready: %v", err)
	}

	mux := http.NewServeMux()
	h.factors = mfa.New(s, mfa.Options{Keyring: kr, Secrets: secrets, Now: o.now})
	h.sessions = session.New(s, session.Options{Secrets: secrets, Now: o.now})
	mailer := h.newMailer(t, s, kr, o.mail)
	pages, err := login.New(login.Options{Mail: mailer, AuthRequests: h.tokens, Users: h.users, Apps: h.projects, CallbackURL: h.provider.CallbackURL,
		Sessions: h.sessions, Now: o.now,
		Factors: h.factors, Keyring: kr,
		// Every test logs in from 127.0.0.1, far more often than a person
		// would: no per-address limit here (internal/login tests it).
		Policies: func(_ context.Context, _, orgID string) *iam.Policies {
			p := iam.DefaultPolicies()
			p.Lockout.IPRateLimitPerMinute = 0
			if o.policies != nil {
				o.policies(p)
			}
			if orgID != "" && o.orgPolicies != nil {
				o.orgPolicies(p)
			}
			return p
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	routes := h.provider.Routes()
	routes[oidc.PathEndSession] = pages.EndSession(routes["/oauth/"])
	for pattern, handler := range routes {
		mux.Handle(pattern, tenant.Middleware(h.insts.GetByHost, handler))
	}
	for pattern, handler := range pages.Routes() {
		mux.Handle(pattern, tenant.Middleware(h.insts.GetByHost, handler))
	}
	api.Mount(api.Options{
		Instances:     h.insts,
		Members:       h.members,
		Audit:         s,
		Authenticate:  h.provider.AdminAuthenticator(h.users.AuthenticatePAT),
		Organizations: userapi.NewOrganizationServer(h.orgs),
		Users:         userapi.NewUserServer(h.users),
		Projects:      projectapi.NewProjectServer(h.projects),
		Applications:  projectapi.NewApplicationServer(h.projects),
		UserGrants:    projectapi.NewUserGrantServer(h.projects),
		Cluster:       cluster.NewRegistry(cluster.RegistryOptions{Store: s, NodeID: "test-node"}),
		Logger:        log,
	}, func(pattern string, handler http.Handler) {
		mux.Handle(pattern, tenant.Middleware(h.insts.GetByHost, h.provider.WithIssuer(handler)))
	})
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rctx, rt := store.WithRoundTrips(r.Context())
		mux.ServeHTTP(w, r.WithContext(rctx))
		h.mu.Lock()
		h.lastRT[r.URL.Path] = rt.Load()
		if tag := r.Header.Get(probeHeader); tag != "" {
			h.lastRT[tag+" "+r.URL.Path] = rt.Load()
		}
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	addr := h.srv.Listener.Addr().String()
	_, h.port, _ = net.SplitHostPort(addr)
	h.client = &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	t.Cleanup(h.client.CloseIdleConnections)
	return h
}

// issuer is the issuer of the instance with that domain.
func (h *harness) issuer(host string) string { return "http://" + host + ":" + h.port }

// probeClient is h.client marking its requests with tag, so that
// roundTrips reads the counts of exactly these requests.
func (h *harness) probeClient(tag string) *http.Client {
	c := *h.client
	c.Transport = roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set(probeHeader, tag)
		return h.client.Transport.RoundTrip(r)
	})
	return &c
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// roundTrips returns the database round trips of the last request to path
// made by probeClient(tag).
func (h *harness) roundTrips(t testing.TB, tag, path string) int64 {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	n, ok := h.lastRT[tag+" "+path]
	if !ok {
		t.Fatalf("no request to %s by probe %q", path, tag)
	}
	return n
}

// clientCtx makes go-oidc and oauth2 use client.
func clientCtx(ctx context.Context, client *http.Client) context.Context {
	return gooidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, client), client)
}

// ctx is a context for go-oidc and oauth2 calls through h.client.
func (h *harness) ctx(t testing.TB) context.Context { return clientCtx(t.Context(), h.client) }

// response is a read HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body as a JSON object (nil if it is none).
func (r *response) json() map[string]any {
	var m map[string]any
	if json.Unmarshal(r.body, &m) != nil {
		return nil
	}
	return m
}

// str returns a string member of the JSON body.
func (r *response) str(key string) string {
	s, _ := r.json()[key].(string)
	return s
}

// location returns the Location header resolved against base.
func (r *response) location(t testing.TB, base string) *url.URL {
	t.Helper()
	loc := r.header.Get("Location")
	if loc == "" {
		t.Fatalf("no Location header (status %d): %s", r.status, r.body)
	}
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	return u
}

// do sends req with client and reads the response.
func do(t testing.TB, client *http.Client, req *http.Request) *response {
	t.Helper()
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: body}
}

// get sends a GET to rawURL.
func (h *harness) get(t testing.TB, rawURL string, header http.Header) *response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, h.client, req)
}

// post sends form to rawURL, with HTTP basic authentication if user is set.
func (h *harness) post(t testing.TB, rawURL string, form url.Values, header http.Header) *response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, h.client, req)
}

// basic is an Authorization header for HTTP basic client authentication
// (RFC 6749 §2.3.1: the client ID and secret form-urlencoded first).
func basic(clientID, secret string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID)+":"+url.QueryEscape(secret))))
	return h
}

// bearer is an Authorization header with a bearer token.
func bearer(tok string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+tok)
	return h
}

// wantOAuthError asserts an RFC 6749 §5.2 error answer.
func wantOAuthError(t testing.TB, r *response, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got %d %s, want %d with error %q", r.status, r.body, status, code)
	}
}

// pkce returns a verifier and its S256 challenge (RFC 7636 §4.2).
func pkce() (verifier, challenge string) {
	verifier = oauth2.GenerateVerifier()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// app is a seeded application with its credentials.
type app struct {
	*iam.Application
	secret string
	// key signs client assertions (private_key_jwt); keyID is its ID.
	key   crypto.Signer
	keyID string
}

// world is one seeded instance.
type world struct {
	h      *harness
	host   string
	issuer string
	in     *iam.Instance
	org    *iam.Organization
	// proj holds the user-facing apps and the roles "reader" and
	// "writer"; apiProj holds the api app (a resource server).
	proj, apiProj *iam.Project
	// alice is an INSTANCE_OWNER with the role "reader" of proj and
	// "auditor" of apiProj; carol is deactivated by a test; erin signs out
	// in a test. Every human's password is password.
	alice, carol, erin *iam.User
	// svc is a machine user with a client secret and a key.
	svc       *iam.User
	svcSecret string
	svcKey    *rsa.PrivateKey
	svcKeyID  string

	web, spa, native, api, pkjwt, opaque, device *app
	// post is an api app registered for client_secret_post.
	post *app
	// webOpaque is a web app with opaque access tokens.
	webOpaque *app
}

const password = "correct horse battery staple"

// Redirect URIs of the seeded apps.
const (
	webRedirect       = "https://web.example/cb"
	webPostLogout     = "https://web.example/signed-out"
	spaRedirect       = "https://spa.example/cb"
	nativeRedirect    = "http://127.0.0.1/cb"
	pkjwtRedirect     = "https://pk.example/cb"
	webOpaqueRedirect = "https://webopaque.example/cb"
	unregisteredRedir = "https://evil.example/cb"
)

func check[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// Keys generated once per test binary: RSA generation is slow.
var (
	machineRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
	otherRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
	appECKey = sync.OnceValue(func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

func publicPEM(t testing.TB, k crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// seed creates an instance served at host with everything the tests use.
// minimal seeds only the organization, alice and the api and web apps.
func (h *harness) seed(t testing.TB, name, host string, minimal bool) *world {
	t.Helper()
	ctx := t.Context()
	w := &world{h: h, host: host, issuer: h.issuer(host)}
	w.in = check[*iam.Instance](t)(h.insts.Create(ctx, iam.SystemActor, &iam.Instance{Name: name, PrimaryDomain: host}))
	w.org = check[*iam.Organization](t)(h.orgs.Create(ctx, iam.SystemActor, &iam.Organization{InstanceID: w.in.ID, Name: "Acme"}))
	w.proj = check[*iam.Project](t)(h.projects.CreateProject(ctx, iam.SystemActor, &iam.Project{InstanceID: w.in.ID, OrgID: w.org.ID, Name: "Shop"}))
	w.apiProj = check[*iam.Project](t)(h.projects.CreateProject(ctx, iam.SystemActor, &iam.Project{InstanceID: w.in.ID, OrgID: w.org.ID, Name: "Orders API"}))
	for _, r := range []struct{ p, key string }{{w.proj.ID, "reader"}, {w.proj.ID, "writer"}, {w.apiProj.ID, "auditor"}} {
		check[*iam.ProjectRole](t)(h.projects.AddProjectRole(ctx, iam.SystemActor, w.org.ID, &iam.ProjectRole{InstanceID: w.in.ID, ProjectID: r.p, Key: r.key, DisplayName: r.key}))
	}
	human := func(login, email string) *iam.User {
		u := check[*iam.User](t)(h.users.CreateHuman(ctx, iam.SystemActor, &user.NewHuman{
			InstanceID: w.in.ID, OrgID: w.org.ID, LoginName: login, Password: password,
			Profile: iam.HumanProfile{Email: email, EmailVerified: true, GivenName: strings.ToUpper(login[:1]) + login[1:], FamilyName: "Example", PreferredLanguage: "en"},
		}))
		check[*iam.UserGrant](t)(h.projects.CreateUserGrant(ctx, iam.SystemActor, &iam.UserGrant{InstanceID: w.in.ID, OrgID: w.org.ID, UserID: u.ID, ProjectID: w.proj.ID, RoleKeys: []string{"reader"}}))
		return u
	}
	w.alice = human("alice", "alice@example.com")
	check[*iam.UserGrant](t)(h.projects.CreateUserGrant(ctx, iam.SystemActor, &iam.UserGrant{InstanceID: w.in.ID, OrgID: w.org.ID, UserID: w.alice.ID, ProjectID: w.apiProj.ID, RoleKeys: []string{"auditor"}}))
	check[*iam.Membership](t)(h.members.Add(ctx, iam.SystemActor, &iam.Membership{InstanceID: w.in.ID, Scope: iam.RoleInstanceOwner.Scope(), UserID: w.alice.ID, Roles: []iam.MemberRole{iam.RoleInstanceOwner}}))

	newApp := func(a *iam.Application) *app {
		a.InstanceID, a.OrgID = w.in.ID, w.org.ID
		if a.ProjectID == "" {
			a.ProjectID = w.proj.ID
		}
		if a.Name == "" {
			a.Name = a.ClientID
		}
		created, secret, err := h.projects.CreateApplication(ctx, iam.SystemActor, a, "")
		if err != nil {
			t.Fatalf("create app %s: %v", a.ClientID, err)
		}
		return &app{Application: created, secret: secret}
	}
	w.web = newApp(&iam.Application{ClientID: "web", Type: iam.AppTypeWeb, RedirectURIs: []string{webRedirect}, PostLogoutRedirectURIs: []string{webPostLogout}})
	w.api = newApp(&iam.Application{ClientID: "api", Type: iam.AppTypeAPI, ProjectID: w.apiProj.ID})
	if minimal {
		return w
	}
	w.carol = human("carol", "carol@example.com")
	w.erin = human("erin", "erin@example.com")
	w.spa = newApp(&iam.Application{ClientID: "spa", Type: iam.AppTypeSPA, RedirectURIs: []string{spaRedirect}})
	w.native = newApp(&iam.Application{ClientID: "native", Type: iam.AppTypeNative, RedirectURIs: []string{nativeRedirect}})
	w.opaque = newApp(&iam.Application{ClientID: "opaque", Type: iam.AppTypeAPI, AccessTokenFormat: iam.TokenFormatOpaque})
	w.post = newApp(&iam.Application{ClientID: "post", Type: iam.AppTypeAPI, AuthMethod: iam.AuthClientSecretPost})
	w.webOpaque = newApp(&iam.Application{ClientID: "webopaque", Type: iam.AppTypeWeb, AccessTokenFormat: iam.TokenFormatOpaque, RedirectURIs: []string{webOpaqueRedirect}})
	w.device = newApp(&iam.Application{ClientID: "device", Type: iam.AppTypeNative, GrantTypes: []string{iam.GrantDeviceCode, iam.GrantRefreshToken}})
	w.pkjwt = newApp(&iam.Application{ClientID: "pkjwt", Type: iam.AppTypeWeb, AuthMethod: iam.AuthPrivateKeyJWT,
		RedirectURIs: []string{pkjwtRedirect}, GrantTypes: []string{iam.GrantAuthorizationCode, iam.GrantClientCredentials}})
	w.pkjwt.key = appECKey()
	k := check[*iam.ApplicationKey](t)(h.projects.AddApplicationKey(ctx, iam.SystemActor, w.in.ID, w.org.ID, w.proj.ID, w.pkjwt.ID, publicPEM(t, w.pkjwt.key), time.Time{}))
	w.pkjwt.keyID = k.ID

	ref := func(u *iam.User) user.Ref { return user.Ref{InstanceID: w.in.ID, ID: u.ID} }
	w.svc = check[*iam.User](t)(h.users.CreateMachine(ctx, iam.SystemActor, &user.NewMachine{InstanceID: w.in.ID, OrgID: w.org.ID, LoginName: "svc"}))
	var err error
	if _, w.svcSecret, err = h.users.GenerateClientSecret(ctx, iam.SystemActor, ref(w.svc)); err != nil {
		t.Fatal(err)
	}
	w.svcKey = machineRSAKey()
	mk, _, err := h.users.AddMachineKey(ctx, iam.SystemActor, ref(w.svc), &user.NewMachineKey{PublicKeyPEM: publicPEM(t, w.svcKey), ExpiresAt: h.now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	w.svcKeyID = mk.ID
	return w
}

// provider is go-oidc's view of the instance (discovery).
func (w *world) provider(t testing.TB) *gooidc.Provider {
	t.Helper()
	p, err := gooidc.NewProvider(w.h.ctx(t), w.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return p
}

// oauth2Config is the oauth2 client of a (non-machine) app.
func (w *world) oauth2Config(t testing.TB, a *app, redirect string, scopes ...string) *oauth2.Config {
	t.Helper()
	style := oauth2.AuthStyleInHeader
	if a.AuthMethod == iam.AuthNone || a.AuthMethod == iam.AuthClientSecretPost {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID: a.ClientID, ClientSecret: a.secret, RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL: w.issuer + oidc.PathAuthorize, TokenURL: w.issuer + oidc.PathToken,
			DeviceAuthURL: w.issuer + oidc.PathDeviceAuthz, AuthStyle: style,
		},
	}
}

// login drives the login page for authURL (an /oauth/authorize URL) as a
// browser would, and returns where the provider finally redirects.
func (w *world) login(t testing.TB, authURL, loginName string) *url.URL {
	t.Helper()
	r := w.h.get(t, authURL, nil)
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		t.Fatalf("authorize: %d %s", r.status, r.body)
	}
	loginURL := r.location(t, authURL)
	if loginURL.Path != oidc.PathLogin {
		t.Fatalf("authorize redirected to %s, want the login page", loginURL)
	}
	id := loginURL.Query().Get("authRequestID")
	page := w.h.get(t, w.issuer+loginURL.RequestURI(), nil)
	if page.status != http.StatusOK || !strings.Contains(string(page.body), `name="authRequestID" value="`+id+`"`) {
		t.Fatalf("login page: %d %s", page.status, page.body)
	}
	r = w.h.post(t, w.issuer+oidc.PathLogin, url.Values{"authRequestID": {id}, "login_name": {loginName}, "password": {password}}, w.sameOrigin())
	if r.status != http.StatusSeeOther {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	callback := r.location(t, w.issuer)
	r = w.h.get(t, callback.String(), nil)
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		t.Fatalf("authorize callback: %d %s", r.status, r.body)
	}
	return r.location(t, callback.String())
}

// sameOrigin is the Origin header of a form on the instance's own pages.
func (w *world) sameOrigin() http.Header {
	h := http.Header{}
	h.Set("Origin", w.issuer)
	return h
}

// code runs the authorization request of cfg to the code, checking the
// state, and returns the code.
func (w *world) code(t testing.TB, cfg *oauth2.Config, loginName string, opts ...oauth2.AuthCodeOption) string {
	t.Helper()
	state := rand.Text()
	back := w.login(t, cfg.AuthCodeURL(state, opts...), loginName)
	q := back.Query()
	if got := back.Scheme + "://" + back.Host + back.Path; got != cfg.RedirectURL {
		t.Fatalf("redirected to %s, want %s", back, cfg.RedirectURL)
	}
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("redirect %s: want the state and a code", back)
	}
	return q.Get("code")
}

// tokens runs the code flow with PKCE for a and exchanges the code.
func (w *world) tokens(t testing.TB, a *app, redirect, loginName string, scopes ...string) *oauth2.Token {
	t.Helper()
	cfg := w.oauth2Config(t, a, redirect, scopes...)
	verifier := oauth2.GenerateVerifier()
	code := w.code(t, cfg, loginName, oauth2.S256ChallengeOption(verifier))
	tok, err := cfg.Exchange(w.h.ctx(t), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// clientCredentials gets a token for a machine client by client ID and
// secret (HTTP basic).
func (w *world) clientCredentials(t testing.TB, clientID, secret string, scopes ...string) *response {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	return w.h.post(t, w.issuer+oidc.PathToken, form, basic(clientID, secret))
}

// accessToken returns the access token of a successful token response.
func accessToken(t testing.TB, r *response) string {
	t.Helper()
	tok := r.str("access_token")
	if r.status != http.StatusOK || tok == "" {
		t.Fatalf("token response: %d %s", r.status, r.body)
	}
	return tok
}

// introspect asks the introspection endpoint (RFC 7662) as the api app.
func (w *world) introspect(t testing.TB, caller *app, tok string) map[string]any {
	t.Helper()
	r := w.h.post(t, w.issuer+oidc.PathIntrospect, url.Values{"token": {tok}}, basic(caller.ClientID, caller.secret))
	if r.status != http.StatusOK {
		t.Fatalf("introspection: %d %s", r.status, r.body)
	}
	return r.json()
}

// active reports the "active" member of an introspection response.
func active(m map[string]any) bool { b, _ := m["active"].(bool); return b }

// userinfo calls the userinfo endpoint with a bearer token.
func (w *world) userinfo(t testing.TB, tok string) *response {
	t.Helper()
	return w.h.get(t, w.issuer+oidc.PathUserinfo, bearer(tok))
}

// refresh exchanges a refresh token of a (with its secret, if any).
func (w *world) refresh(t testing.TB, a *app, refreshToken string) *response {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	var hdr http.Header
	if a.secret != "" {
		hdr = basic(a.ClientID, a.secret)
	} else {
		form.Set("client_id", a.ClientID)
	}
	return w.h.post(t, w.issuer+oidc.PathToken, form, hdr)
}

// assertion signs claims as a JWT with key (kid keyID).
func assertion(t testing.TB, key crypto.Signer, keyID string, claims any) string {
	t.Helper()
	alg := jose.RS256
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		alg = jose.ES256
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: keyID}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// jwtClaims are the claims of an RFC 7523 assertion.
func jwtClaims(iss, sub, aud string, now time.Time, ttl time.Duration) jwt.Claims {
	return jwt.Claims{
		Issuer: iss, Subject: sub, Audience: jwt.Audience{aud}, ID: rand.Text(),
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(ttl)),
	}
}

// unverifiedClaims decodes a JWT's claims without checking its signature.
func unverifiedClaims(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// jwtHeaderKID returns the key ID a JWT names.
func jwtHeaderKID(t testing.TB, tok string) string {
	t.Helper()
	parsed, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Signatures[0].Header.KeyID
}

// forEachBackend runs fn in a parallel subtest per backend with a fresh
// harness.
func forEachBackend(t *testing.T, o harnessOptions, fn func(t *testing.T, h *harness)) {
	t.Helper()
	for _, b := range testenv.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, newHarness(t, b, testenv.NewStore(t, b), o))
		})
	}
}
