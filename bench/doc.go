// Package bench holds Rampart's benchmarks that need real processes: they
// build the rampart binary and measure it from the outside. Run them with
//
//	make bench     (go test -run '^$' -bench . -benchtime 20x ./bench/...)
//
// They are not timed tests: `go test ./...` compiles them and runs none.
//
// The benchmarks:
//
//   - BenchmarkStartup: process start to ready, warm and fresh, on SQLite
//     and PostgreSQL.
//   - BenchmarkUsers: the admin API over HTTP against 100k users.
//   - BenchmarkClientCredentials: POST /oauth/token (client_credentials)
//     and /oauth/introspect of a JWT against a `rampart start --init`
//     process, 16 requests in flight on keep-alive connections, on
//     PostgreSQL and SQLite; reports req/s and p50/p99 latency.
//
// The token benchmark wants a fixed request count (the node's start-up is
// not timed, and a few thousand requests give a stable p99):
//
//	go test -run '^$' -bench ClientCredentials -benchtime 3000x ./bench/
package bench
