// Package buildinfo reports which Rampart this binary is: its semantic
// version, the commit it was built from and the Go version.
//
// Version and Commit are set at link time:
//
//	go build -ldflags "-X github.com/rampartiam/rampart/internal/buildinfo.Version=v1.2.3 -X github.com/rampartiam/rampart/internal/buildinfo.Commit=abc123" ./cmd/rampart
//
// It imports only the standard library.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Version is the semantic version of this build ("v0.1.0-dev" when not set
// at link time).
var Version = "v0.1.0-dev"

// Commit is the source commit of this build; when not set at link time it is
// read from the Go build information if the build recorded it.
var Commit = ""

// GoVersion returns the Go version the binary was built with.
func GoVersion() string { return runtime.Version() }

// CommitOrUnknown returns Commit, else the VCS revision recorded by the Go
// toolchain, else "unknown".
func CommitOrUnknown() string {
	if Commit != "" {
		return Commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// Major returns the major version number of a semantic version such as
// "v1.2.3" or "1.2.3-rc.1"; -1 if it cannot be read.
func Major(version string) int {
	v := strings.TrimPrefix(version, "v")
	if i := strings.IndexByte(v, '.'); i >= 0 {
		v = v[:i]
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return -1
	}
	return n
}
