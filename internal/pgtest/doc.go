// Package pgtest gives tests real PostgreSQL databases.
//
// A test asks for a fresh, empty database and gets a connection URL:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		pool, err := pgxpool.New(t.Context(), pgtest.NewDatabase(t))
//		...
//	}
//
// Every call to [NewDatabase] creates a database with a unique name (a
// sanitised test name plus a random suffix, so parallel tests and parallel
// test binaries never collide) and drops it with DROP DATABASE ... WITH
// (FORCE) when the test ends. Tests must never skip for want of a server:
// when none can be found or started the test fails and says how to get one.
//
// # Where the server comes from
//
// When RAMPART_TEST_POSTGRES_URL is set, databases are created on that
// server. It must be a postgres:// URL whose role may create databases (a
// superuser or a role with CREATEDB), on PostgreSQL 13 or newer; its path
// names the database used for CREATE/DROP DATABASE ("postgres" when empty)
// and its query parameters (sslmode, passwords, ...) are kept in every URL
// handed out.
//
// Otherwise the package starts one throwaway cluster per test binary, the
// first time a test asks for a database: it looks for initdb and postgres on
// PATH, then under the highest version in /usr/lib/postgresql/*/bin, runs
// initdb (trust authentication, UTF8, no locale) into a temporary directory
// and starts postgres on 127.0.0.1 at a free port, plus a unix socket in that
// directory. Durability is traded for speed (fsync, synchronous_commit and
// full_page_writes are off) and max_connections is 400 so that many
// parallel tests fit. [Main] stops that cluster and removes its directory
// after the tests ran.
//
// [StartCluster] starts a dedicated cluster of the same kind that a fault
// test may stop and start again (same port, same data), for instance to
// check how a store behaves while the database is down.
//
// # Root and the postgres user
//
// initdb and postgres refuse to run as root, and CI and development sessions
// run as root. When the test process runs as root, pgtest therefore runs
// them as the "postgres" system user (looked up with os/user; the PostgreSQL
// packages create it), chowns the temporary directory to it, and the
// temporary directory must be reachable by that user (the default /tmp is;
// a private TMPDIR is not). Run as any other user, pgtest runs them as that
// user.
//
// # Clean-up when the test binary dies
//
// A test binary killed by a test timeout or a signal runs no clean-up code,
// yet its cluster must not outlive it. Every child process is started from a
// goroutine locked to its own OS thread for the life of the process, with
// Linux's parent-death signal (SysProcAttr.Pdeathsig) set: when the test
// process dies, the kernel sends postgres SIGQUIT (immediate shutdown) and
// it takes its backends down with it. The orphaned temporary directory
// (named rampart-pgtest-*, holding the owning process ID) is removed by the
// next pgtest run on the machine.
//
// pgtest uses package testing and is meant to be imported only from
// _test.go files.
//
// Imports: github.com/jackc/pgx/v5 and the standard library.
package pgtest
