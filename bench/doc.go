// Package bench holds Rampart's benchmarks that need real processes: they
// build the rampart binary and measure it from the outside. Run them with
//
//	make bench     (go test -run '^$' -bench . -benchtime 20x ./bench/...)
//
// They are not timed tests: `go test ./...` compiles them and runs none.
package bench
