// Package config defines Rampart's startup configuration: the [Config]
// struct, its defaults, how it is loaded from a YAML file, RAMPART_*
// environment variables and command-line flags, and its validation.
//
// Precedence, lowest first: [Default], the YAML file, the environment, the
// flags the user actually set. Every key has one entry in a table (keys.go)
// from which the environment variable names, the flag names, the defaults
// file ([DefaultYAML]) and the strict unknown-key check are all derived, so
// adding a key means adding a struct field and a table row.
//
// Secrets (masterkey, database) have _FILE environment variants, no flags,
// and never appear in error messages. Settings that change at runtime
// (policies, branding) live in the database, not here. docs/configuration.md
// is the reference for operators.
//
// Imports: internal/crypto (to check the master key), koanf and its
// providers, pflag, pgx (to check PostgreSQL URLs), the YAML library and the
// standard library. Import it from cmd/rampart (the composition root);
// services receive plain values, not a Config.
package config
