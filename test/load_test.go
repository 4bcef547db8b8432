package test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The kinds of requests the load generator sends.
const (
	kindToken      = "client_credentials"
	kindIntrospect = "introspection"
	kindLogin      = "login" // every HTTP request of an authorization-code login
	kindAdmin      = "admin_write"
)

// sample is one HTTP request the load generator sent.
type sample struct {
	kind    string
	step    string // the login step, "" for single-request kinds
	start   time.Time
	latency time.Duration
	status  int    // 0 when the request failed without a response
	err     string // why the request counts as failed, "" if it succeeded
	backend string // the node that served it, from the balancer's header
}

func (s sample) failed() bool { return s.err != "" }

// loadTarget is what the generator needs to know about the cluster.
type loadTarget struct {
	base          string // http://<balancer>, also the issuer
	callback      string // the web client's registered redirect URI
	introspectTok string // an access token meant for the api application
	pat           string // personal access token for the admin API
	orgID         string // organization the admin writes create users in
}

// loadRates are requests (logins: login flows) per second of each kind.
type loadRates struct {
	token, introspect, login, admin float64
}

// loadGen sends a steady, open-loop mix of requests: each kind on its own
// fixed schedule, whether earlier requests have answered or not, so a slow
// or failing node cannot slow the load down and hide the problem. The
// number of requests in flight is capped (maxInFlight); a tick that finds
// the cap reached is counted in skipped.
type loadGen struct {
	target  loadTarget
	rates   loadRates
	client  *http.Client // shared connection pool for single requests
	timeout time.Duration

	mu      sync.Mutex
	samples []sample
	users   []string // login names of users the admin API confirmed created

	inFlight atomic.Int64
	skipped  atomic.Int64
	seq      atomic.Int64
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

const maxInFlight = 200

func newLoadGen(target loadTarget, rates loadRates) *loadGen {
	timeout := 15 * time.Second
	return &loadGen{
		target:  target,
		rates:   rates,
		timeout: timeout,
		client: &http.Client{
			Timeout:       timeout,
			Transport:     &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// start begins sending; stop ends it and waits for requests in flight.
func (g *loadGen) start() {
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	for _, k := range []struct {
		rate float64
		fn   func(context.Context)
	}{
		{g.rates.token, g.token},
		{g.rates.introspect, g.introspect},
		{g.rates.login, g.login},
		{g.rates.admin, g.admin},
	} {
		if k.rate <= 0 {
			continue
		}
		g.wg.Go(func() {
			tick := time.NewTicker(time.Duration(float64(time.Second) / k.rate))
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				if g.inFlight.Load() >= maxInFlight {
					g.skipped.Add(1)
					continue
				}
				g.inFlight.Add(1)
				g.wg.Go(func() {
					defer g.inFlight.Add(-1)
					// Requests in flight finish after stop: they were sent.
					k.fn(context.WithoutCancel(ctx))
				})
			}
		})
	}
}

func (g *loadGen) stop() {
	g.cancel()
	g.wg.Wait()
	g.client.CloseIdleConnections()
}

func (g *loadGen) record(s sample) {
	g.mu.Lock()
	g.samples = append(g.samples, s)
	g.mu.Unlock()
}

// snapshot returns the samples so far.
func (g *loadGen) snapshot() []sample {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.samples)
}

// createdUsers returns the users the admin API confirmed created.
func (g *loadGen) createdUsers() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.users)
}

// wantRedirect as the expected status of do accepts any 3xx.
const wantRedirect = 3

// do sends one request and records it; check (optional) judges a response
// with the expected status. It returns the response body when the request
// succeeded.
func (g *loadGen) do(c *http.Client, kind, step string, req *http.Request, want int, check func(*http.Response, []byte) error) (*http.Response, []byte, bool) {
	s := sample{kind: kind, step: step, start: time.Now()}
	resp, err := c.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	s.latency = time.Since(s.start)
	switch {
	case err != nil:
		s.err = err.Error()
	case resp.StatusCode != want && !(want == wantRedirect && resp.StatusCode/100 == 3):
		s.status = resp.StatusCode
		s.err = fmt.Sprintf("status %d: %.200s", resp.StatusCode, body)
	default:
		s.status = resp.StatusCode
		if check != nil {
			if cerr := check(resp, body); cerr != nil {
				s.err = cerr.Error()
			}
		}
	}
	if resp != nil {
		s.backend = resp.Header.Get(backendHeader)
	}
	g.record(s)
	return resp, body, s.err == ""
}

func (g *loadGen) form(ctx context.Context, target string, form url.Values, user, password string) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(password))
	}
	return req
}

// token gets an access token with client credentials as the api
// application.
func (g *loadGen) token(ctx context.Context) {
	req := g.form(ctx, g.target.base+"/oauth/token", url.Values{"grant_type": {"client_credentials"}}, rpAPIClient, rpAPISecret)
	g.do(g.client, kindToken, "", req, http.StatusOK, func(_ *http.Response, body []byte) error {
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
			return fmt.Errorf("no access token in %.200s", body)
		}
		return nil
	})
}

// introspect asks about a valid token as the api application; an inactive
// answer is a failure (the node must not turn a fault into "inactive").
func (g *loadGen) introspect(ctx context.Context) {
	req := g.form(ctx, g.target.base+"/oauth/introspect", url.Values{"token": {g.target.introspectTok}}, rpAPIClient, rpAPISecret)
	g.do(g.client, kindIntrospect, "", req, http.StatusOK, func(_ *http.Response, body []byte) error {
		var out struct {
			Active bool `json:"active"`
		}
		if json.Unmarshal(body, &out) != nil || !out.Active {
			return fmt.Errorf("token not active: %.200s", body)
		}
		return nil
	})
}

// admin creates a user through the admin API.
func (g *loadGen) admin(ctx context.Context) {
	name := fmt.Sprintf("load-%d-%s", g.seq.Add(1), strings.ToLower(rand.Text()[:6]))
	body, _ := json.Marshal(map[string]any{"orgId": g.target.orgID, "loginName": name, "email": name + "@load.example", "givenName": "Load", "familyName": "Test"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.target.base+"/rampart.admin.v1.UserService/CreateHumanUser", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+g.target.pat)
	if _, _, ok := g.do(g.client, kindAdmin, "", req, http.StatusOK, nil); ok {
		g.mu.Lock()
		g.users = append(g.users, name)
		g.mu.Unlock()
	}
}

// loginFlow is one browser's authorization-code login (RFC 6749 §4.1 with
// PKCE, RFC 7636) through the hosted login pages, one HTTP request per
// step and no redirect followed automatically, so that every step is a
// sample of its own and may land on another node. The session cookie lives
// in the flow's own jar.
type loginFlow struct {
	g      *loadGen
	ctx    context.Context
	client *http.Client
	// send sends and records one step; the cross-node scenario replaces
	// it to pin steps to nodes.
	send func(step string, req *http.Request, want int) (*http.Response, []byte, error)
}

func (g *loadGen) newLoginFlow(ctx context.Context, transport http.RoundTripper) *loginFlow {
	jar, _ := cookiejar.New(nil)
	if transport == nil {
		transport = g.client.Transport
	}
	f := &loginFlow{g: g, ctx: ctx, client: &http.Client{
		Timeout: g.timeout, Jar: jar, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	f.send = func(step string, req *http.Request, want int) (*http.Response, []byte, error) {
		resp, body, ok := g.do(f.client, kindLogin, step, req, want, nil)
		if !ok {
			return resp, body, fmt.Errorf("step %s failed", step)
		}
		return resp, body, nil
	}
	return f
}

func (g *loadGen) login(ctx context.Context) {
	_, _ = g.newLoginFlow(ctx, nil).run()
}

// run performs the login and the code exchange and returns the access
// token.
func (f *loginFlow) run() (string, error) {
	base := f.g.target.base
	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {rpWebClient}, "redirect_uri": {f.g.target.callback},
		"scope": {"openid profile"}, "state": {rand.Text()}, "nonce": {rand.Text()},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	get := func(target string) *http.Request {
		req, _ := http.NewRequestWithContext(f.ctx, http.MethodGet, target, nil)
		return req
	}
	post := func(form url.Values) *http.Request {
		req := f.g.form(f.ctx, base+"/ui/login", form, "", "")
		req.Header.Set("Origin", base) // a same-origin form post
		return req
	}
	resp, _, err := f.send("authorize", get(base+"/oauth/authorize?"+q.Encode()), wantRedirect)
	if err != nil {
		return "", err
	}
	loc, err := resp.Location()
	if err != nil || loc.Path != "/ui/login" || loc.Query().Get("authRequestID") == "" {
		return "", fmt.Errorf("authorize redirected to %v (%v)", loc, err)
	}
	id := loc.Query().Get("authRequestID")
	if _, _, err := f.send("login page", get(loc.String()), http.StatusOK); err != nil {
		return "", err
	}
	if _, body, err := f.send("login name", post(url.Values{"authRequestID": {id}, "login_name": {rpUser}}), http.StatusOK); err != nil {
		return "", err
	} else if !strings.Contains(string(body), `name="password"`) {
		return "", fmt.Errorf("the login name step did not show the password page: %.300s", body)
	}
	resp, _, err = f.send("password", post(url.Values{"authRequestID": {id}, "login_name": {rpUser}, "password": {rpPassword}}), wantRedirect)
	if err != nil {
		return "", err
	}
	// Redirects within the provider (if any) until the relying party's
	// callback.
	for range 5 {
		loc, err = resp.Location()
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(loc.String(), f.g.target.callback+"?") {
			break
		}
		if resp, _, err = f.send("redirect", get(loc.String()), wantRedirect); err != nil {
			return "", err
		}
	}
	code := loc.Query().Get("code")
	if code == "" || loc.Query().Get("state") != q.Get("state") {
		return "", fmt.Errorf("callback %s lacks the code or state", loc)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {f.g.target.callback}, "code_verifier": {verifier}}
	req := f.g.form(f.ctx, base+"/oauth/token", form, rpWebClient, rpWebSecret)
	_, body, err := f.send("code exchange", req, http.StatusOK)
	if err != nil {
		return "", err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	if json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" || tok.IDToken == "" {
		return "", fmt.Errorf("code exchange answered %.300s", body)
	}
	return tok.AccessToken, nil
}

// loadStats summarizes the samples that started in a time window.
type loadStats struct {
	sent, failed int
	p99          time.Duration
	max          time.Duration
	byStatus     map[string]int // failures by status or error class
	byBackend    map[string]int
	lastFailure  time.Time
	firstFailure time.Time
}

func summarize(samples []sample, from, to time.Time) loadStats {
	st := loadStats{byStatus: map[string]int{}, byBackend: map[string]int{}}
	var lat []time.Duration
	for _, s := range samples {
		if s.start.Before(from) || !s.start.Before(to) {
			continue
		}
		st.sent++
		lat = append(lat, s.latency)
		st.byBackend[s.backend]++
		if s.failed() {
			st.failed++
			key := fmt.Sprint(s.status)
			if s.status == 0 {
				key = "error"
			}
			st.byStatus[s.kind+":"+key]++
			if st.firstFailure.IsZero() || s.start.Before(st.firstFailure) {
				st.firstFailure = s.start
			}
			if s.start.After(st.lastFailure) {
				st.lastFailure = s.start
			}
		}
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		st.p99 = lat[(len(lat)*99+99)/100-1]
		st.max = lat[len(lat)-1]
	}
	return st
}

func (st loadStats) failRate() float64 {
	if st.sent == 0 {
		return 0
	}
	return float64(st.failed) / float64(st.sent)
}

// failures lists up to n failed samples in the window, for the log.
func failures(samples []sample, from, to time.Time, n int) []string {
	var out []string
	for _, s := range samples {
		if s.failed() && !s.start.Before(from) && s.start.Before(to) && len(out) < n {
			out = append(out, fmt.Sprintf("%s %s %s via %q after %s: %s", s.start.Format("15:04:05.000"), s.kind, s.step, s.backend, s.latency.Round(time.Millisecond), s.err))
		}
	}
	return out
}
