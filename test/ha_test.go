package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampartiam/rampart/internal/pgtest"
)

const (
	haPAT         = "rpat_test-only-ha-token-0123456789abcdefgh"
	haCallback    = "http://127.0.0.1:9/callback"
	haOrg         = "Relying parties"
	haDrainDelay  = 2 * time.Second        // well above the balancer's check interval
	haHealthEvery = 150 * time.Millisecond // the balancer's /debug/ready interval
	haCleanup     = 2 * time.Second        // periodic cleanup job interval
	haFastFail    = 3 * time.Second        // bound for a request during a database outage
)

// haCluster is the system under test: PostgreSQL that can be stopped, three
// nodes behind the load balancer, and the load generator.
type haCluster struct {
	t     *testing.T
	pg    *pgtest.Cluster
	db    *pgx.Conn
	env   []string
	init  string
	names []string
	addrs map[string]string
	nodes map[string]*proc
	lb    *loadBalancer
	load  *loadGen
}

func (c *haCluster) start(name string) *proc {
	p := startProc(c.t, slices.Concat(c.env, []string{
		"RAMPART_NODE_ID=" + name, "RAMPART_HTTP_ADDR=" + c.addrs[name], "RAMPART_DATA_DIR=" + c.t.TempDir(),
	}), "start", "--init", c.init)
	p.addr = c.addrs[name]
	c.nodes[name] = p
	return p
}

// restart starts a stopped node again on its address and waits until the
// balancer has it back in rotation.
func (c *haCluster) restart(name string) time.Duration {
	start := time.Now()
	p := c.start(name)
	p.waitReady()
	c.lb.waitHealthy(name)
	return time.Since(start)
}

func (c *haCluster) leader() string { return jobLeader(c.t, c.db) }

// waitLeader waits for a job leader other than old and returns it.
func (c *haCluster) waitLeader(old string) string {
	c.t.Helper()
	var l string
	waitUntil(c.t, 90*time.Second, "a new job leader", func() bool {
		l = c.leader()
		return l != "" && l != old
	})
	return l
}

func (c *haCluster) waitOutOfRotation(name string) time.Time {
	c.t.Helper()
	waitUntil(c.t, 30*time.Second, name+" out of rotation", func() bool { return !c.lb.healthy(name) })
	return time.Now()
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not %s after %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// haFigures are the closing-note figures of one scenario.
type haFigures struct {
	name     string
	stats    loadStats     // the whole scenario window
	fault    loadStats     // the fault window
	recovery time.Duration // see each scenario
	failover time.Duration // job leadership moved after (0: not measured)
}

// TestHighAvailability runs three `rampart start` nodes on one PostgreSQL
// behind a load balancer that follows /debug/ready, under a steady mix of
// client-credentials tokens, introspections, authorization-code logins
// and admin API writes, and goes through the faults a cluster must ride
// out, one after the other on the same cluster:
//
//  1. SIGTERM the job leader: it turns unready, keeps serving for the
//     drain delay while the balancer takes it out, drains and exits 0;
//     no request fails, and another node leads the jobs at once.
//  2. kill -9 a follower: only requests in flight on it fail, under 0.5%.
//  3. kill -9 the job leader: the same, and another node takes over the
//     jobs when River's lease has run out.
//  4. Restart PostgreSQL: every node turns unready, requests fail fast
//     with 503 rather than hang, and the nodes recover without a restart;
//     no user created before the outage is lost.
//  5. A login whose every step hits another node succeeds: the login
//     state lives in the database, nothing is sticky.
//
// Killed nodes are restarted between the scenarios and rejoin. At the end
// the periodic cleanup job has run at most once per period, never twice.
func TestHighAvailability(t *testing.T) {
	t.Parallel()
	pg := pgtest.StartCluster(t)
	dbURL := pg.NewDatabase(t)
	db, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.WithoutCancel(t.Context()))
	initFile, err := filepath.Abs("testdata/ha-init.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := &haCluster{t: t, pg: pg, db: db, init: initFile, names: []string{"node-0", "node-1", "node-2"},
		addrs: map[string]string{}, nodes: map[string]*proc{}}
	var addrs []string
	for _, n := range c.names {
		c.addrs[n] = freeAddr(t)
		addrs = append(addrs, c.addrs[n])
	}
	c.lb = newLoadBalancer(t, haHealthEvery, c.names, addrs)
	base := "http://" + c.lb.addr()
	c.env = slices.Concat(postgresBackend(t, dbURL).env, []string{
		"RAMPART_EXTERNAL_URL=" + base,
		"RAMPART_SHUTDOWN_DRAIN_DELAY=" + haDrainDelay.String(),
		"RAMPART_JOBS_CLEANUP_INTERVAL=" + haCleanup.String(),
		"RAMPART_CLUSTER_HEARTBEAT_INTERVAL=500ms",
		"RAMPART_DATABASE_POOL_CONNECT_TIMEOUT=1s",
		// Cheap password hashes: the machine runs three nodes and the load.
		"RAMPART_PASSWORD_HASH_MEMORY_KIB=8192", "RAMPART_PASSWORD_HASH_ITERATIONS=1",
	})
	// The first node migrates and applies the init file; the others find
	// both done.
	c.start("node-0").waitReady()
	for _, n := range c.names[1:] {
		c.start(n)
	}
	for _, n := range c.names[1:] {
		c.nodes[n].waitReady()
	}
	c.lb.waitHealthy(c.names...)
	waitUntil(t, 90*time.Second, "a job leader", func() bool { return c.leader() != "" })

	target := loadTarget{base: base, callback: haCallback, pat: haPAT}
	target.orgID = haOrgID(t, base)
	target.introspectTok = haServiceToken(t, base)
	c.load = newLoadGen(target, loadRates{token: 10, introspect: 15, login: 2, admin: 5})
	// Sanity: one login through the balancer before the load.
	if _, err := c.load.newLoginFlow(t.Context(), nil).run(); err != nil {
		t.Fatalf("login through the balancer: %v\n%s", err, strings.Join(failures(c.load.snapshot(), time.Time{}, time.Now(), 10), "\n"))
	}
	loadStart := time.Now()
	c.load.start()
	loadRunning := true
	defer func() {
		if loadRunning {
			c.load.stop()
		}
	}()
	time.Sleep(3 * time.Second) // steady state

	var figures []haFigures
	figures = append(figures, c.sigtermLeader())
	figures = append(figures, c.killNode(false))
	figures = append(figures, c.killNode(true))
	figures = append(figures, c.restartPostgres())
	c.load.stop()
	loadRunning = false
	c.crossNodeLogin(base)

	all := summarize(c.load.snapshot(), loadStart, time.Now())
	t.Logf("load: %d requests (%d failed, %.3f%%), p99 %s, max %s, by node %v; ticks skipped at the in-flight cap: %d",
		all.sent, all.failed, 100*all.failRate(), all.p99.Round(time.Millisecond), all.max.Round(time.Millisecond), all.byBackend, c.load.skipped.Load())
	var table strings.Builder
	fmt.Fprintf(&table, "%-28s %8s %7s %9s %14s %12s %10s\n", "scenario", "sent", "failed", "failed %", "p99 in fault", "recovery", "failover")
	for _, f := range figures {
		fo := "-"
		if f.failover > 0 {
			fo = f.failover.Round(10 * time.Millisecond).String()
		}
		fmt.Fprintf(&table, "%-28s %8d %7d %8.3f%% %14s %12s %10s\n", f.name, f.stats.sent, f.stats.failed, 100*f.stats.failRate(),
			f.fault.p99.Round(time.Millisecond), f.recovery.Round(10*time.Millisecond), fo)
	}
	t.Logf("closing figures:\n%s", table.String())
	c.checkCleanupJobs()
}

// haOrgID finds the organization the admin writes go to.
func haOrgID(t *testing.T, base string) string {
	t.Helper()
	status, body := callAPI(t, strings.TrimPrefix(base, "http://"), strings.TrimPrefix(base, "http://"),
		"/rampart.admin.v1.OrganizationService/ListOrganizations", haPAT, "{}")
	var out struct {
		Organizations []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"organizations"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &out) != nil {
		t.Fatalf("ListOrganizations = %d %s", status, body)
	}
	for _, o := range out.Organizations {
		if o.Name == haOrg {
			return o.ID
		}
	}
	t.Fatalf("no organization %q in %s", haOrg, body)
	return ""
}

// haServiceToken gets the api application's own token, which it may
// introspect.
func haServiceToken(t *testing.T, base string) string {
	t.Helper()
	g := newLoadGen(loadTarget{base: base}, loadRates{})
	req := g.form(t.Context(), base+"/oauth/token", map[string][]string{"grant_type": {"client_credentials"}}, rpAPIClient, rpAPISecret)
	_, body, ok := g.do(g.client, kindToken, "", req, http.StatusOK, nil)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if !ok || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("client credentials: %s %v", body, g.snapshot())
	}
	return tok.AccessToken
}

// logFailures logs the failed requests of a window.
func (c *haCluster) logFailures(from, to time.Time) {
	for _, f := range failures(c.load.snapshot(), from, to, 20) {
		c.t.Log("  failed: " + f)
	}
}

// sigtermLeader is scenario 1.
func (c *haCluster) sigtermLeader() haFigures {
	t := c.t
	from := time.Now().Add(-2 * time.Second)
	name := c.leader()
	n := c.nodes[name]
	t0 := time.Now()
	n.signal(syscall.SIGTERM)
	out := c.waitOutOfRotation(name)
	newLeader := c.waitLeader(name)
	failover := time.Since(t0)
	if code := n.exitCode(60 * time.Second); code != 0 {
		t.Fatalf("%s exited %d after SIGTERM", name, code)
	}
	exited := time.Now()
	if !strings.Contains(n.stderr.String(), "http server unready; serving on for the drain delay") {
		t.Errorf("%s did not wait out the drain delay:\n%s", name, n.stderr)
	}
	time.Sleep(time.Second) // traffic on two nodes
	back := c.restart(name)
	time.Sleep(time.Second)
	to := time.Now()
	f := haFigures{name: "SIGTERM leader", stats: summarize(c.load.snapshot(), from, to), fault: summarize(c.load.snapshot(), t0, exited),
		recovery: out.Sub(t0), failover: failover}
	t.Logf("scenario 1, SIGTERM %s (job leader): out of rotation after %s, exited 0 after %s, %s leads the jobs after %s, restarted and back in rotation in %s; %d requests, %d failed, p99 while draining %s",
		name, out.Sub(t0).Round(time.Millisecond), exited.Sub(t0).Round(time.Millisecond), newLeader, failover.Round(time.Millisecond),
		back.Round(time.Millisecond), f.stats.sent, f.stats.failed, f.fault.p99.Round(time.Millisecond))
	if f.stats.failed != 0 {
		c.logFailures(from, to)
		t.Errorf("scenario 1: %d requests failed around a graceful shutdown, want none", f.stats.failed)
	}
	if f.fault.byBackend[name] == 0 {
		t.Logf("note: %s served no request between SIGTERM and its exit", name)
	}
	return f
}

// killNode is scenarios 2 (a follower) and 3 (the job leader).
func (c *haCluster) killNode(leader bool) haFigures {
	t := c.t
	// A window long enough that one request in flight on the killed node
	// is well under 0.5% of it: steady load before and after the kill.
	from := time.Now()
	time.Sleep(5 * time.Second)
	oldLeader := c.leader()
	name := oldLeader
	if !leader {
		for _, n := range c.names {
			if n != oldLeader {
				name = n
				break
			}
		}
	}
	n := c.nodes[name]
	t0 := time.Now()
	if err := n.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	out := c.waitOutOfRotation(name)
	var failover time.Duration
	newLeader := oldLeader
	if leader {
		newLeader = c.waitLeader(oldLeader)
		failover = time.Since(t0)
	} else {
		time.Sleep(5 * time.Second)
		if l := c.leader(); l != oldLeader {
			t.Errorf("killing follower %s moved the job leader from %s to %q", name, oldLeader, l)
		}
	}
	faultEnd := time.Now()
	back := c.restart(name)
	time.Sleep(3 * time.Second)
	to := time.Now()
	samples := c.load.snapshot()
	f := haFigures{name: "kill -9 follower", stats: summarize(samples, from, to), fault: summarize(samples, t0, faultEnd), failover: failover}
	if leader {
		f.name = "kill -9 leader"
	}
	if f.stats.failed > 0 {
		f.recovery = f.stats.lastFailure.Sub(t0)
	}
	t.Logf("scenario %s %s: out of rotation after %s, last failed request started %s after the kill, job leader %s → %s after %s, restarted and back in rotation in %s; %d requests, %d failed (%.3f%%) %v, p99 in the fault %s",
		f.name, name, out.Sub(t0).Round(time.Millisecond), f.recovery.Round(time.Millisecond), oldLeader, newLeader, failover.Round(time.Millisecond),
		back.Round(time.Millisecond), f.stats.sent, f.stats.failed, 100*f.stats.failRate(), f.stats.byStatus, f.fault.p99.Round(time.Millisecond))
	if f.stats.failRate() >= 0.005 {
		t.Errorf("%s: %.3f%% of requests failed, want under 0.5%%", f.name, 100*f.stats.failRate())
	}
	// Only requests in flight on the killed node fail: served by it and
	// started before the balancer could know (generously: before it took
	// the node out of rotation, plus a second).
	for _, s := range samples {
		if s.failed() && !s.start.Before(from) && s.start.Before(to) && (s.backend != name || s.start.After(out.Add(time.Second))) {
			t.Errorf("%s: a request not in flight on %s failed: %s %s via %q at +%s: %s", f.name, name, s.kind, s.step, s.backend, s.start.Sub(t0), s.err)
		}
	}
	if t.Failed() {
		c.logFailures(from, to)
	}
	// The restarted node rejoined the registry: three nodes, one leader.
	waitUntil(t, 60*time.Second, "three nodes and one leader in rampart nodes", func() bool {
		rows, leaders, _ := nodesTable(t, c.env)
		return len(rows) == 3 && leaders == 1
	})
	return f
}

// restartPostgres is scenario 4.
func (c *haCluster) restartPostgres() haFigures {
	t := c.t
	from := time.Now().Add(-2 * time.Second)
	before := c.load.createdUsers()
	t0 := time.Now()
	c.pg.Stop(t)
	stopped := time.Now()
	waitUntil(t, 60*time.Second, "every node out of rotation", func() bool {
		return !slices.ContainsFunc(c.names, c.lb.healthy)
	})
	allOut := time.Now()
	for _, n := range c.names {
		if r, err := c.nodes[n].ready(); err != nil || r.Code != 503 || r.Reason != "database" {
			t.Errorf("%s during the outage: %+v %v, want 503 database", n, r, err)
		}
	}
	// Each kind of request, sent to a node directly: 503, fast.
	c.probeOutage()
	time.Sleep(2 * time.Second)
	restarted := time.Now()
	c.pg.Start(t)
	started := time.Now()
	// The test's own connection died with the server.
	db, err := pgx.Connect(t.Context(), c.pg.URL(c.db.Config().Database))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	c.db = db
	c.lb.waitHealthy(c.names...)
	allBack := time.Now()
	for _, n := range c.names {
		select {
		case <-c.nodes[n].done:
			t.Fatalf("%s exited during the database outage:\n%s", n, c.nodes[n].stderr)
		default:
		}
	}
	time.Sleep(2 * time.Second)
	to := time.Now()
	samples := c.load.snapshot()
	f := haFigures{name: "PostgreSQL restart", stats: summarize(samples, from, to), fault: summarize(samples, t0, allBack), recovery: allBack.Sub(started)}
	// First success after PostgreSQL accepted connections again.
	var firstOK time.Time
	for _, s := range samples {
		if !s.failed() && s.start.After(started) && (firstOK.IsZero() || s.start.Before(firstOK)) {
			firstOK = s.start.Add(s.latency)
		}
	}
	t.Logf("scenario 4, PostgreSQL stopped for %s (stop took %s): all nodes out of rotation after %s; back in rotation %s after PostgreSQL accepted connections again (first success after %s); %d requests, %d failed %v, p99 in the fault %s, max %s",
		restarted.Sub(t0).Round(time.Millisecond), stopped.Sub(t0).Round(time.Millisecond), allOut.Sub(t0).Round(time.Millisecond), f.recovery.Round(time.Millisecond),
		firstOK.Sub(started).Round(time.Millisecond), f.stats.sent, f.stats.failed, f.stats.byStatus, f.fault.p99.Round(time.Millisecond), f.fault.max.Round(time.Millisecond))
	// Requests fail fast, with 503; none after the nodes are back.
	for _, s := range samples {
		if !s.failed() || s.start.Before(from) || !s.start.Before(to) {
			continue
		}
		if s.status != http.StatusServiceUnavailable || s.latency > haFastFail {
			t.Errorf("during the outage: %s %s via %q at +%s answered %d after %s, want 503 within %s: %s",
				s.kind, s.step, s.backend, s.start.Sub(t0).Round(time.Millisecond), s.status, s.latency.Round(time.Millisecond), haFastFail, s.err)
		}
		if s.start.After(allBack.Add(time.Second)) {
			t.Errorf("a request failed %s after every node was back: %s %s via %q: %s", s.start.Sub(allBack).Round(time.Millisecond), s.kind, s.step, s.backend, s.err)
		}
	}
	// Every user the admin API confirmed before the outage is still there.
	rows, err := c.db.Query(t.Context(), `SELECT login_name FROM users`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var lost []string
	for _, u := range before {
		if !slices.Contains(names, u) {
			lost = append(lost, u)
		}
	}
	t.Logf("scenario 4: %d users created through the admin API before the outage, %d lost", len(before), len(lost))
	if len(lost) > 0 || len(before) == 0 {
		t.Errorf("users lost in the outage: %v (of %d)", lost, len(before))
	}
	return f
}

// probeOutage sends every kind of request straight to one node while the
// database is down: each must answer 503 within haFastFail.
func (c *haCluster) probeOutage() {
	t := c.t
	node := c.nodes[c.names[0]].addr
	host := c.lb.addr()
	g := newLoadGen(c.load.target, loadRates{})
	direct := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, node)
		},
	}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	g.client = direct // requests name the balancer's host; the transport dials the node
	g.token(t.Context())
	g.introspect(t.Context())
	g.admin(t.Context())
	f := g.newLoginFlow(t.Context(), direct.Transport)
	_, _ = f.run()
	for _, s := range g.snapshot() {
		t.Logf("  outage probe on %s (Host %s): %s %s → %d in %s", c.names[0], host, s.kind, s.step, s.status, s.latency.Round(time.Millisecond))
		if s.status != http.StatusServiceUnavailable || s.latency > haFastFail {
			t.Errorf("during the outage %s %s answered %d after %s, want 503 within %s: %s", s.kind, s.step, s.status, s.latency.Round(time.Millisecond), haFastFail, s.err)
		}
	}
}

// crossNodeLogin is scenario 5: a login whose every step is sent to
// another node (with the balancer's Host, so the issuer is the same), then
// single sign-on on yet another node with the session cookie; and one
// login through the balancer, whose round-robin spreads the steps.
func (c *haCluster) crossNodeLogin(base string) {
	t := c.t
	var current string
	pinned := &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, c.addrs[current])
		},
	}
	g := newLoadGen(c.load.target, loadRates{})
	f := g.newLoginFlow(t.Context(), pinned)
	var steps []string
	i := 0
	f.send = func(step string, req *http.Request, want int) (*http.Response, []byte, error) {
		current = c.names[i%len(c.names)]
		i++
		steps = append(steps, step+"@"+current)
		resp, body, ok := g.do(f.client, kindLogin, step, req, want, nil)
		if !ok {
			return resp, body, fmt.Errorf("step %s on %s: %s", step, current, g.snapshot()[len(g.snapshot())-1].err)
		}
		return resp, body, nil
	}
	if _, err := f.run(); err != nil {
		t.Fatalf("scenario 5: login across nodes (%v): %v", steps, err)
	}
	t.Logf("scenario 5: login with each step on the next node succeeded: %s", strings.Join(steps, " → "))

	// Single sign-on: the session cookie set on one node is honoured by
	// the others: authorize and the login page go straight back to the
	// client.
	steps = steps[:0]
	resp, _, err := f.send("sso authorize", mustGet(t, base+"/oauth/authorize?response_type=code&scope=openid&state=s2&client_id="+rpWebClient+"&redirect_uri="+haCallback), wantRedirect)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		loc, err := resp.Location()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(loc.String(), haCallback+"?") {
			if loc.Query().Get("code") == "" {
				t.Fatalf("single sign-on ended at %s without a code", loc)
			}
			t.Logf("scenario 5: single sign-on with the session cookie on other nodes: %s", strings.Join(steps, " → "))
			break
		}
		if resp, _, err = f.send("sso redirect", mustGet(t, loc.String()), wantRedirect); err != nil {
			t.Fatalf("single sign-on on another node (%v): %v", steps, err)
		}
	}

	// Through the balancer: the steps of one login land on several nodes.
	lb := c.load.newLoginFlow(t.Context(), nil)
	var served []string
	send := lb.send
	lb.send = func(step string, req *http.Request, want int) (*http.Response, []byte, error) {
		resp, body, err := send(step, req, want)
		if resp != nil {
			served = append(served, resp.Header.Get(backendHeader))
		}
		return resp, body, err
	}
	if _, err := lb.run(); err != nil {
		t.Fatalf("scenario 5: login through the balancer: %v", err)
	}
	distinct := slices.Compact(slices.Sorted(slices.Values(served)))
	t.Logf("scenario 5: login through the balancer served by %v", served)
	if len(distinct) < 2 {
		t.Errorf("the balancer sent every step of a login to %v; want several nodes", distinct)
	}
}

func mustGet(t *testing.T, target string) *http.Request {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// checkCleanupJobs checks the periodic cleanup job over the whole run:
// never two jobs for one period, never a job attempted twice, and no job
// in a failed state. Periods are missed while no node leads (leader
// election after the kill, the database outage); a job the killed leader
// was running stays "running" until River rescues it, which it does only
// after its rescue delay (longer than this test).
func (c *haCluster) checkCleanupJobs() {
	t := c.t
	runs := cleanupRuns(t, c.db)
	seen := map[time.Time]int64{}
	states := map[string]int{}
	for _, r := range runs {
		states[r.state]++
		p := r.scheduledAt.Truncate(haCleanup)
		if other, dup := seen[p]; dup {
			t.Errorf("cleanup jobs %d and %d both in period %s", other, r.id, p.Format(time.RFC3339Nano))
		}
		seen[p] = r.id
		if r.attempt > 1 || len(r.attemptedBy) > 1 {
			t.Errorf("cleanup job %d attempted %d times by %v", r.id, r.attempt, r.attemptedBy)
		}
		switch r.state {
		case "completed", "available", "scheduled":
		case "running":
			t.Logf("cleanup job %d still running, attempted by %v (a killed node's job waits for River's rescue)", r.id, r.attemptedBy)
		default:
			t.Errorf("cleanup job %d is %s (attempted by %v)", r.id, r.state, r.attemptedBy)
		}
	}
	var periods []time.Time
	for _, r := range runs {
		if r.state == "completed" {
			periods = append(periods, r.scheduledAt.Truncate(haCleanup))
		}
	}
	var gaps []string
	for i := 1; i < len(periods); i++ {
		if missing := periods[i].Sub(periods[i-1]) - haCleanup; missing > 0 {
			gaps = append(gaps, fmt.Sprintf("%s before %s", missing, periods[i].Format("15:04:05")))
		}
	}
	t.Logf("cleanup jobs: %d, by state %v, none twice; periods skipped while no node led the jobs: %v", len(runs), states, gaps)
	if states["completed"] < 3 {
		t.Errorf("only %d cleanup jobs completed", states["completed"])
	}
}
