// Command rampart is the Rampart IAM server and its operations tool.
//
//	rampart start            migrate (unless --no-migrate) and serve
//	rampart migrate          apply pending schema migrations and exit
//	rampart migrate status   list known and applied migrations
//	rampart version          version, commit, Go version, schema versions
//	rampart config defaults  the full default configuration as YAML
//
// This package is the only composition root: it turns flags, environment
// and the config file into a config.Config, opens the configured store
// backend and wires services, transports and the HTTP server with plain
// constructor calls.
//
// Exit codes: 0 success; 1 runtime failure (e.g. a failed migration, an
// incompatible schema); 2 bad configuration or environment (bad config,
// bad database URL, unusable data directory, occupied port).
package main
