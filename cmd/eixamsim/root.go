package main

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// env is what every command needs from the process: its streams, and the
// command line as typed (for a run's metadata).
type env struct {
	stdout, stderr io.Writer
	args           []string
}

// newRoot builds the whole command line. Each command lives in its own
// file; flags go anywhere (`run FILE --users 50`), every command has
// --help, and `completion bash|zsh|fish|powershell` prints a completion
// script.
func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "eixamsim",
		Short: "load tester and device simulator for Eixam Connect SDK backends",
		Long: `eixamsim simulates fleets of phones running the Eixam Connect SDK (HTTP login,
one MQTT 5 connection per user, telemetry, SOS, contacts and devices) against a
backend, measures every operation, and judges the scenario's thresholds.

Exit codes: 0 passed, 1 internal error, 2 bad usage or scenario, 3 target
unreachable or nothing measured, 4 generator-bound (the simulator was the
bottleneck), 5 not judged (too short to judge the simulator's health), 99
thresholds failed, 100 aborted, 130 interrupted (docs/ci.md).`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(e.stderr)
			_ = cmd.Help()
			return withCode(exitUsage, errors.New("a command is needed"))
		},
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError("%s: %v (see 'eixamsim %s --help')", cmd.Name(), err, cmd.Name())
	})
	root.AddCommand(newRunCmd(e), newValidateCmd(e), newReportCmd(e), newServeCmd(e),
		newSignCmd(e), newVersionCmd(e), newSchemaCmd(e), newMergeCmd(e), newCompareCmd(e), newCapacityCmd(e))
	return root
}

// execute runs one command line (without the program name).
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	e := &env{stdout: stdout, stderr: stderr, args: append([]string{"eixamsim"}, args...)}
	root := newRoot(e)
	root.SetArgs(longFlags(root, args))
	ran := false
	for _, c := range root.Commands() {
		wrapRun(c, &ran)
	}
	err := root.ExecuteContext(ctx)
	if err != nil && !ran {
		var ee *exitError
		if !errors.As(err, &ee) {
			// cobra refused the command line before any command ran: an
			// unknown command or a flag cobra parsed itself.
			err = usageError("%v (see 'eixamsim --help')", err)
		}
	}
	return err
}

// wrapRun marks *ran when c's own code starts, so execute can tell cobra's
// parse errors (usage, exit 2) from the command's.
func wrapRun(c *cobra.Command, ran *bool) {
	if c.RunE == nil {
		return
	}
	inner := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		*ran = true
		return inner(cmd, args)
	}
}

// singleDash matches "-name" or "-name=value": Go's flag syntax, which
// eixamsim accepted before it used pflag.
var singleDash = regexp.MustCompile(`^-([a-z][a-z0-9-]+)(=.*)?$`)

// longFlags rewrites "-users 50" as "--users 50" for every long flag name
// of any command, so command lines written for the old flag package keep
// working. Arguments after "--" are left alone.
func longFlags(root *cobra.Command, args []string) []string {
	names := map[string]bool{"help": true}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	out := make([]string, len(args))
	done := false
	for i, a := range args {
		out[i] = a
		if a == "--" {
			done = true
		}
		if m := singleDash.FindStringSubmatch(a); !done && m != nil && names[m[1]] {
			out[i] = "-" + a
		}
	}
	return out
}

// exactArgs is cobra.ExactArgs with eixamsim's message, as a usage error.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError("%s: want exactly %s, got %d arguments (see 'eixamsim %s --help')", cmd.Name(), what, len(args), cmd.Name())
		}
		return nil
	}
}

// join lists names as "a, b and c".
func join(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
