package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// A misspelt command or flag gets the nearest name, from the binary as a
// user runs it; no error says "eixamsim" twice.
func TestDidYouMean(t *testing.T) {
	valid, _ := writeScenario(t, "ok", header+"name: ok\nduration: 3s\n")
	tests := []struct {
		args []string
		want string // the last line of stderr
	}{
		{[]string{"runn", valid}, `eixamsim: unknown command "runn"; did you mean "run"? (see 'eixamsim --help')`},
		// the flags after a misspelt command do not hide it
		{[]string{"validat", valid, "--users", "5"}, `eixamsim: unknown command "validat"; did you mean "validate"? (see 'eixamsim --help')`},
		{[]string{"run", valid, "--userz", "5"}, "eixamsim: run: unknown flag --userz; did you mean --users? (see 'eixamsim run --help')"},
		{[]string{"run", valid, "--userz=5"}, "eixamsim: run: unknown flag --userz; did you mean --users? (see 'eixamsim run --help')"},
		{[]string{"capacity", valid, "--hol", "5s"}, "eixamsim: capacity: unknown flag --hol; did you mean --hold? (see 'eixamsim capacity --help')"},
		{[]string{"validate", valid, "--sett", "fleet.users=5"}, "eixamsim: validate: unknown flag --sett; did you mean --set? (see 'eixamsim validate --help')"},
		{[]string{"help", "runn"}, `eixamsim: unknown command "runn"; did you mean "run"? (see 'eixamsim --help')`},
		{[]string{"completion", "bsh"}, `eixamsim: completion: unknown command "bsh"; did you mean "bash"? (see 'eixamsim completion --help')`},
		// nothing close: no guess
		{[]string{"run", valid, "--bogus"}, "eixamsim: run: unknown flag --bogus (see 'eixamsim run --help')"},
		{[]string{"xyzzy"}, `eixamsim: unknown command "xyzzy" (see 'eixamsim --help')`},
		// the root's own errors: one "eixamsim", and its own help
		{[]string{"--bogus"}, "eixamsim: unknown flag --bogus (see 'eixamsim --help')"},
		{[]string{"completion", "bash", "--bogus"}, "eixamsim: completion bash: unknown flag --bogus (see 'eixamsim completion bash --help')"},
		{[]string{"version", "x"}, `eixamsim: version: takes no arguments, got "x" (see 'eixamsim version --help')`},
	}
	for _, tt := range tests {
		r := eixamsim(t, tt.args...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if last := lines[len(lines)-1]; r.code != exitUsage || last != tt.want {
			t.Errorf("%v: exit %d, last line\n  %s\nwant 2 and\n  %s", tt.args, r.code, last, tt.want)
		}
		if strings.Contains(r.stderr, "eixamsim eixamsim") || strings.Contains(r.stderr, "eixamsim: eixamsim") {
			t.Errorf("%v: doubled name:\n%s", tt.args, r.stderr)
		}
	}
}

// --users, --duration, --set and --seed change what validate checks as
// they change what run runs: a --set can make a valid file invalid, or an
// invalid one valid.
func TestValidateTakesRunsOverrides(t *testing.T) {
	valid, _ := writeScenario(t, "ok", header+"name: ok\nduration: 3s\n")
	r := eixamsim(t, "validate", valid, "--users", "50", "--duration", "2m", "--seed", "7")
	if r.code != exitOK || !strings.Contains(r.stdout, valid+": ok (ok: 50 users, 2m0s,") {
		t.Errorf("--users 50 --duration 2m: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	r = eixamsim(t, "validate", valid, "--set", "behaviours.telemetry.every=1ns")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--set behaviours.telemetry.every=1ns: must be at least 10ms") {
		t.Errorf("--set telemetry.every=1ns: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	tooFast, _ := writeScenario(t, "fast", strings.Replace(header, "login: [me]", "login: [me], telemetry: { every: 1ns }", 1)+"name: fast\nduration: 3s\n")
	if r := eixamsim(t, "validate", tooFast); r.code != exitUsage || !strings.Contains(r.stderr, "behaviours.telemetry.every: must be at least 10ms") {
		t.Errorf("telemetry.every 1ns in the file: exit %d, want 2; stderr:\n%s", r.code, r.stderr)
	}
	r = eixamsim(t, "validate", tooFast, "--set", "behaviours.telemetry.every=5s")
	if r.code != exitOK || !strings.Contains(r.stdout, tooFast+": ok (") {
		t.Errorf("--set telemetry.every=5s over the file's 1ns: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	r = eixamsim(t, "validate", valid, "--duration", "8")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--duration") {
		t.Errorf("--duration 8: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r = eixamsim(t, "validate", valid, "--seed", "0")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--seed 0: must be a whole number") {
		t.Errorf("--seed 0: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// --version and the version command print the version scripts/build.sh
// stamps into the binary, with its revision.
func TestVersionIsStamped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "eixamsim")
	pkg := "github.com/eixamsim/eixamsim/engine"
	ldflags := "-X " + pkg + ".stampVersion=v9.8.7 -X " + pkg + ".stampRevision=0123456789abcdef0123456789abcdef01234567 -X " + pkg + ".stampTime=2026-12-01T10:00:00Z"
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	want := "eixamsim v9.8.7 (0123456789abcdef0123456789abcdef01234567, 2026-12-01T10:00:00Z) " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	for _, args := range [][]string{{"--version"}, {"version"}, {"-v"}} {
		cmd := exec.Command(bin, args...)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil || string(out) != want {
			t.Errorf("%v: %v, %q; want %q", args, err, out, want)
		}
	}
}

// Every flag that takes a value names it the same way in --help: one
// upper-case metavar (--out DIR, --users N, --duration DURATION), never
// pflag's type names (string, int, duration, float).
func TestOneMetavarStyle(t *testing.T) {
	metavar := regexp.MustCompile(`^[A-Z][A-Z0-9_.=/,:@]*$`)
	root := newRoot(&env{stdout: io.Discard, stderr: io.Discard})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			name, _ := pflag.UnquoteUsage(f)
			if f.Value.Type() == "bool" || f.Hidden {
				return
			}
			if !metavar.MatchString(name) {
				t.Errorf("%s --%s: metavar %q; want an upper-case word in backquotes in its usage", c.CommandPath(), f.Name, name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// compare -o DIR is --out DIR, as every command's -o.
func TestCompareShortOut(t *testing.T) {
	root := newRoot(&env{stdout: io.Discard, stderr: io.Discard})
	for _, c := range root.Commands() {
		if f := c.Flags().ShorthandLookup("o"); f != nil && f.Name != "out" {
			t.Errorf("%s -o is --%s, want --out", c.Name(), f.Name)
		}
	}
	cmp, _, _ := root.Find([]string{"compare"})
	if f := cmp.Flags().ShorthandLookup("o"); f == nil {
		t.Error("compare has no -o")
	}
}
