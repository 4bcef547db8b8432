package pgtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Child processes die with the test process thanks to Linux's parent-death
// signal: the kernel sends SysProcAttr.Pdeathsig to a child when the thread
// that forked it exits (https://go.dev/issue/27505). The Go runtime may end
// threads, so every child is forked from one goroutine that locks itself to
// its OS thread and never returns: that thread lives exactly as long as the
// process, whether it exits, panics on a test timeout or is killed with
// SIGKILL. Go sets the signal after switching to the postgres user's
// credentials, and postgres is not set-user-ID, so the setting survives both
// (the kernel clears it on credential changes and on secure exec).
// TestClusterDiesWithTestProcess checks this for real.
var spawner struct {
	once sync.Once
	reqs chan spawnRequest
}

type spawnRequest struct {
	cmd  *exec.Cmd
	errc chan error
}

// startTied starts cmd from the locked spawner thread, so that the kernel
// sends it sig when the test process dies.
func startTied(cmd *exec.Cmd, sig syscall.Signal) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread() // Never unlocked: see the comment on spawner.
			for r := range spawner.reqs {
				r.errc <- r.cmd.Start()
			}
		}()
	})
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = sig
	errc := make(chan error, 1)
	spawner.reqs <- spawnRequest{cmd: cmd, errc: errc}
	return <-errc
}

// runAs says which user runs initdb and postgres.
type runAs struct {
	cred     *syscall.Credential // nil: the current user
	uid, gid int
}

// serverUser returns the current user, or the postgres system user when the
// test process runs as root, which initdb and postgres refuse.
func serverUser() (runAs, error) {
	if os.Geteuid() != 0 {
		return runAs{uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return runAs{}, fmt.Errorf("running as root, which initdb and postgres refuse, and there is no postgres user to run them as "+
			"(install PostgreSQL with `apt-get install -y postgresql`, which creates it, or set %s): %w", EnvURL, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return runAs{}, fmt.Errorf("postgres user id %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return runAs{}, fmt.Errorf("postgres group id %q: %w", u.Gid, err)
	}
	// Groups is empty and NoSetGroups false: root's supplementary groups are dropped.
	return runAs{
		cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)},
		uid:  int(uid),
		gid:  int(gid),
	}, nil
}

// childEnv is the environment of initdb and postgres: the test's, without
// PG* variables that could point them elsewhere (PGDATA, PGPORT, ...).
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	return true
}

const (
	dirPattern = "rampart-pgtest-*"
	ownerFile  = "pgtest-owner.pid"
)

var sweepOnce sync.Once

// sweepStale removes the cluster directories of test processes that died
// without cleaning up (killed by a timeout, say), once per process. A
// directory is removed only when its owner process and its postmaster are
// both gone; directories without an owner file are left alone. It is best
// effort: errors are ignored.
func sweepStale() {
	sweepOnce.Do(removeStaleDirs)
}

func removeStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPattern))
	for _, dir := range dirs {
		owner, err := readPID(filepath.Join(dir, ownerFile))
		if err != nil || owner == os.Getpid() || alive(owner) {
			continue
		}
		if pm, err := readPID(filepath.Join(dir, "data", "postmaster.pid")); err == nil && alive(pm) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// readPID reads the process ID on the first line of file.
func readPID(file string) (int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", file, err)
	}
	return pid, nil
}
