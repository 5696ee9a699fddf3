package engine

import (
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// Build is what the binary knows about its own build.
type Build struct {
	// Version is the module version ("v1.2.3"), "(devel)" for a build in
	// a source tree, "unknown" without build info.
	Version string
	// Revision is the VCS revision, "-dirty" appended when the tree had
	// changes; "" when the build recorded none (-buildvcs=false, go run).
	Revision string
	// Time is the revision's commit time, "" when unknown.
	Time string
	// GoVersion is the Go release that built the binary.
	GoVersion string
}

// BuildInfo reads the running binary's build information; a version or
// revision stamped with -ldflags (stamp.go) wins over it.
func BuildInfo() Build {
	b := Build{Version: "unknown", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return stamp(b)
	}
	if bi.Main.Version != "" {
		b.Version = bi.Main.Version
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if b.Revision != "" && dirty {
		b.Revision += "-dirty"
	}
	return stamp(b)
}

// withSeed returns sc with a seed: sc itself when it has one, else a
// shallow copy whose seed (1..scenario.MaxSeed) comes from now's clock.
// The run records the seed it used (summary.json meta.seed and the
// scenario echo), so `--seed N` repeats its random choices.
func withSeed(sc *scenario.Scenario, now time.Time) *scenario.Scenario {
	if sc.Seed != 0 {
		return sc
	}
	c := *sc
	c.Seed = 1 + uint64(now.UnixNano())%uint64(scenario.MaxSeed)
	return &c
}

// newMeta is the metadata of a run of sc from start to end. The command
// line is the caller's (already scrubbed); any literal occurrence of the
// app secret in it is redacted all the same.
func newMeta(sc *scenario.Scenario, commandLine []string, start, end time.Time) *report.Meta {
	b := BuildInfo()
	host, _ := os.Hostname()
	m := &report.Meta{
		Version:    b.Version,
		Revision:   b.Revision,
		GoVersion:  b.GoVersion,
		Platform:   runtime.GOOS + "/" + runtime.GOARCH,
		Host:       host,
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		StartUTC:   start.UTC(),
		EndUTC:     end.UTC(),
	}
	secret := sc.Identity.AppSecret.Reveal()
	for _, arg := range commandLine {
		if secret != "" {
			arg = strings.ReplaceAll(arg, secret, "[redacted]")
		}
		m.CommandLine = append(m.CommandLine, arg)
	}
	return m
}
