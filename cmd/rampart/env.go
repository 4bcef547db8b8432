package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rampartiam/rampart/internal/config"
)

// cliEnv is what every command gets: the process environment and outputs.
type cliEnv struct {
	environ        []string
	stdout, stderr io.Writer
	root           *cobra.Command
}

// loadConfig merges defaults, the --config file, RAMPART_* variables and the
// flags set on the command line, and validates the result.
func (e *cliEnv) loadConfig(cmd *cobra.Command) (*config.Config, error) {
	file, _ := cmd.Flags().GetString("config")
	cfg, warnings, err := config.Load(config.LoadOptions{File: file, Environ: e.environ, Flags: cmd.Flags()})
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "rampart: warning: %s\n", w)
	}
	if err != nil {
		return nil, err // Load validates: one error lists every problem
	}
	return cfg, nil
}

// newLogger builds the process logger from the log.* settings.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(cfg.Log.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
