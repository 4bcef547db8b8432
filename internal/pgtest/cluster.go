package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Timeouts are generous: the test machines are slow and shared.
const (
	readyTimeout  = 60 * time.Second  // start-up until postgres accepts connections
	stopTimeout   = 60 * time.Second  // fast shutdown before escalating to SIGQUIT, then SIGKILL
	initdbTimeout = 120 * time.Second // initdb, which also runs postgres in bootstrap mode
	portAttempts  = 5                 // free ports tried when another process grabs ours
)

// serverSettings tune the throwaway clusters for speed and for many parallel
// tests. Durability does not matter: the data dies with the test.
var serverSettings = []string{
	"listen_addresses=127.0.0.1",
	"fsync=off",
	"synchronous_commit=off",
	"full_page_writes=off",
	"max_connections=400",
	"shared_buffers=128MB",
}

// Cluster is a throwaway PostgreSQL cluster owned by the test process: a data
// directory made by initdb and a postgres server on 127.0.0.1. Its methods
// are safe for concurrent use.
type Cluster struct {
	bin  binaries
	as   runAs
	dir  string // temporary directory; also the unix socket directory
	data string // data directory, inside dir
	log  string // server log file, inside dir
	port int

	mu   sync.Mutex
	proc *serverProcess // nil while stopped
}

// serverProcess is one run of postgres.
type serverProcess struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, set before done is closed
}

// StartCluster starts a dedicated throwaway cluster for a test that needs to
// stop and start its server, and stops and removes it in t.Cleanup. It fails
// the test if PostgreSQL cannot be found or started.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	start := time.Now()
	c, err := newCluster(t.Context())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := c.destroy(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	t.Logf("pgtest: started PostgreSQL cluster (%s) at %s in %v", c.bin.dir, c.URL(""), time.Since(start).Round(time.Millisecond))
	return c
}

// NewDatabase creates a new, empty database in the cluster and returns its
// connection URL. The database is dropped in t.Cleanup if the cluster is
// running then; a stopped cluster is left alone.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	return newDatabase(t, c.URL("postgres"), c.running)
}

// URL returns the connection URL of database dbname in the cluster, as the
// superuser postgres over TCP, with sslmode=disable.
func (c *Cluster) URL(dbname string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop shuts the server down (fast shutdown: sessions are disconnected and
// open transactions rolled back) and returns once the server process is
// gone. The data directory is kept for Start. Stopping a stopped cluster does
// nothing.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if err := c.stop(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// Start starts a stopped cluster again on the same port with the same data
// and returns once it accepts connections. It fails the test if the cluster
// is running or does not come up, for instance because another process took
// the port meanwhile.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		t.Fatalf("pgtest: Start: cluster on port %d is already running", c.port)
	}
	if err := c.startLocked(t.Context()); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

func (c *Cluster) running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.proc != nil
}

// newCluster runs initdb into a new temporary directory and starts postgres
// on a free port.
func newCluster(ctx context.Context) (_ *Cluster, err error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	as, err := serverUser()
	if err != nil {
		return nil, err
	}
	sweepStale()
	dir, err := os.MkdirTemp("", dirPattern)
	if err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	c := &Cluster{
		bin:  bin,
		as:   as,
		dir:  dir,
		data: filepath.Join(dir, "data"),
		log:  filepath.Join(dir, "postgres.log"),
	}
	defer func() {
		if err != nil {
			_ = c.destroy()
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("write owner file: %w", err)
	}
	if err := os.Chown(dir, as.uid, as.gid); err != nil {
		return nil, fmt.Errorf("hand cluster directory to uid %d: %w", as.uid, err)
	}
	if err := c.initdb(ctx); err != nil {
		return nil, err
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	for attempt := 1; ; attempt++ {
		if c.port, err = freePort(); err != nil {
			return nil, err
		}
		err = c.startLocked(ctx)
		switch {
		case err == nil:
			return c, nil
		case !errors.Is(err, errPortInUse) || attempt == portAttempts:
			return nil, err
		}
	}
}

func (c *Cluster) initdb(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, initdbTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin.dir, "initdb"),
		"-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Dir = c.dir
	cmd.Env = childEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.as.cred}
	if err := startTied(cmd, syscall.SIGKILL); err != nil {
		return fmt.Errorf("start initdb: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		hint := ""
		if c.as.cred != nil {
			hint = fmt.Sprintf(" (initdb runs as the postgres user, which must be able to reach %s; point TMPDIR elsewhere, e.g. /tmp, if it cannot)", c.dir)
		}
		return fmt.Errorf("initdb%s: %w\n%s", hint, err, out.Bytes())
	}
	return nil
}

var errPortInUse = errors.New("port already in use")

// startLocked starts postgres on c.port and waits until it accepts
// connections. c.mu must be held and the cluster stopped.
func (c *Cluster) startLocked(ctx context.Context) error {
	logFile, err := os.OpenFile(c.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open server log: %w", err)
	}
	defer logFile.Close()
	logStart, err := logFile.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("open server log: %w", err)
	}

	args := []string{"-D", c.data, "-p", strconv.Itoa(c.port), "-k", c.dir}
	for _, s := range serverSettings {
		args = append(args, "-c", s)
	}
	cmd := exec.Command(filepath.Join(c.bin.dir, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = c.dir
	cmd.Env = childEnv()
	// Own process group: a Ctrl-C meant for the test binary does not shut the
	// server down under a test; the parent-death signal takes care of it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.as.cred, Setpgid: true}
	if err := startTied(cmd, syscall.SIGQUIT); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	p := &serverProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	c.proc = p

	if err := c.waitReady(ctx, p); err != nil {
		c.proc = nil
		_ = c.stopProcess(p)
		tail := c.logSince(logStart)
		if strings.Contains(tail, "Address already in use") {
			err = fmt.Errorf("%w: %w", errPortInUse, err)
		}
		return fmt.Errorf("start postgres on 127.0.0.1:%d: %w\nserver log:\n%s", c.port, err, tail)
	}
	return nil
}

// waitReady polls until the server accepts connections, exits, or
// readyTimeout passes.
func (c *Cluster) waitReady(ctx context.Context, p *serverProcess) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	// Give up on a connection attempt as soon as the server exits: something
	// else may be listening on the port and never answer.
	connCtxBase, exited := context.WithCancel(ctx)
	defer exited()
	go func() {
		select {
		case <-p.done:
			exited()
		case <-connCtxBase.Done():
		}
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		connCtx, connCancel := context.WithTimeout(connCtxBase, 5*time.Second)
		conn, err := pgx.Connect(connCtx, c.URL("postgres"))
		connCancel()
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-p.done:
			return fmt.Errorf("postgres exited during start-up: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("postgres did not accept connections within %v: %w", readyTimeout, err)
		case <-tick.C:
		}
	}
}

// logSince returns what the server logged after offset, at most the last 4 KiB.
func (c *Cluster) logSince(offset int64) string {
	b, err := os.ReadFile(c.log)
	if err != nil || int64(len(b)) < offset {
		return fmt.Sprintf("(cannot read %s: %v)", c.log, err)
	}
	b = b[offset:]
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

func (c *Cluster) stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return nil
	}
	p := c.proc
	c.proc = nil
	return c.stopProcess(p)
}

// stopProcess asks postgres for a fast shutdown (SIGINT) and waits for it to
// exit, escalating to an immediate shutdown (SIGQUIT) and then SIGKILL if it
// takes too long.
func (c *Cluster) stopProcess(p *serverProcess) error {
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{
		{syscall.SIGINT, stopTimeout},
		{syscall.SIGQUIT, 10 * time.Second},
		{syscall.SIGKILL, 10 * time.Second},
	} {
		_ = p.cmd.Process.Signal(step.sig) // Fails only if it has exited already.
		select {
		case <-p.done:
			return nil
		case <-time.After(step.wait):
		}
	}
	return fmt.Errorf("postgres (pid %d) on port %d did not exit", p.cmd.Process.Pid, c.port)
}

// destroy stops the server and removes the cluster directory.
func (c *Cluster) destroy() error {
	stopErr := c.stop()
	if stopErr != nil {
		return fmt.Errorf("stop cluster: %w; leaving %s in place", stopErr, c.dir)
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("remove cluster directory: %w", err)
	}
	return nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// binaries locates a PostgreSQL installation.
type binaries struct {
	dir string // holds initdb and postgres
}

// pgLibDirs is where Debian and Ubuntu install PostgreSQL server binaries.
const pgLibDirs = "/usr/lib/postgresql/*/bin"

// findBinaries looks for a directory holding both initdb and postgres: first
// where PATH's initdb or postgres really lives (after following symlinks, so
// both come from the same installation), then the highest version under
// /usr/lib/postgresql.
func findBinaries() (binaries, error) {
	return findBinariesIn(pgLibDirs)
}

// findBinariesIn is findBinaries with the versioned directories matching glob.
func findBinariesIn(glob string) (binaries, error) {
	var dirs []string
	for _, name := range []string{"initdb", "postgres"} {
		if p, err := exec.LookPath(name); err == nil {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				p = real
			}
			dirs = append(dirs, filepath.Dir(p))
		}
	}
	versioned, _ := filepath.Glob(glob)
	slices.SortFunc(versioned, func(a, b string) int {
		return -compareVersions(filepath.Base(filepath.Dir(a)), filepath.Base(filepath.Dir(b)))
	})
	dirs = append(dirs, versioned...)
	for _, dir := range dirs {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres")) {
			return binaries{dir: dir}, nil
		}
	}
	return binaries{}, fmt.Errorf("PostgreSQL server binaries (initdb, postgres) not found on PATH or in %s: "+
		"install them with `apt-get install -y postgresql`, or set %s to the URL of a server whose role may create databases",
		glob, EnvURL)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// compareVersions compares dotted version strings such as "9.6" and "15"
// numerically; parts that are not numbers count as 0.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}
