package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/eixamsim/eixamsim/internal/suggest"
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
		Version:       versionLine(),
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(e.stderr)
			_ = cmd.Help()
			return withCode(exitUsage, errors.New("a command is needed"))
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError("%s%s (see '%s --help')", where(cmd), flagError(cmd, err), cmd.CommandPath())
	})
	root.AddCommand(newRunCmd(e), newValidateCmd(e), newReportCmd(e), newServeCmd(e),
		newSignCmd(e), newVersionCmd(e), newSchemaCmd(e), newMergeCmd(e), newCompareCmd(e), newCapacityCmd(e))
	// help and completion exist from the start (cobra adds them when it
	// executes), so that a misspelt command can be told from them.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "help" && c.Run != nil { // `help runn`: did you mean run
			show := c.Run
			c.Run = nil
			c.RunE = func(cmd *cobra.Command, args []string) error {
				if found, rest, err := cmd.Root().Find(args); err == nil && len(rest) > 0 && found.HasSubCommands() {
					return unknownCommand(found, rest[0])
				}
				show(cmd, args)
				return nil
			}
		}
		if c.Name() == "completion" { // `completion bsh`: did you mean bash
			c.Args = noArgs
			c.RunE = func(cmd *cobra.Command, _ []string) error {
				cmd.SetOut(e.stderr)
				_ = cmd.Help()
				return usageError("completion: name a shell: bash, zsh, fish or powershell")
			}
		}
	}
	return root
}

// where is the prefix of a usage error of cmd: "run: " for `eixamsim run`,
// "completion bash: " for a sub-command's, "" for the root, whose errors
// main already prefixes with "eixamsim: " (never "eixamsim: eixamsim:").
func where(cmd *cobra.Command) string {
	path := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name())
	if path = strings.TrimSpace(path); path == "" {
		return ""
	}
	return path + ": "
}

// noArgs refuses arguments, with a did-you-mean for a command that has
// sub-commands (the root: `eixamsim runn`). cobra's own suggestions only
// work when the root takes any arguments, which it does not.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return unknownCommand(cmd, args[0])
	}
	return usageError("%stakes no arguments, got %q (see '%s --help')", where(cmd), args[0], cmd.CommandPath())
}

// unknownCommand is the usage error of a command name parent does not have.
func unknownCommand(parent *cobra.Command, name string) error {
	var names []string
	for _, c := range parent.Commands() {
		if c.IsAvailableCommand() || c.Name() == "help" {
			names = append(names, c.Name())
			names = append(names, c.Aliases...)
		}
	}
	msg := fmt.Sprintf("%sunknown command %q", where(parent), name)
	if s := suggest.Closest(name, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return usageError("%s (see '%s --help')", msg, parent.CommandPath())
}

// unknownFlag matches pflag's errors for a flag a command does not have.
var (
	unknownLong  = regexp.MustCompile(`^unknown flag: --([^=\s]+)$`)
	unknownShort = regexp.MustCompile(`^unknown shorthand flag: '.' in -([^=\s]+)`)
)

// flagError is pflag's err, with a did-you-mean for an unknown flag
// ("unknown flag --userz; did you mean --users?"): the command's flags,
// hidden ones aside. A single-dash word that is not a shorthand
// ("-userz") is compared with the long names too.
func flagError(cmd *cobra.Command, err error) string {
	msg := err.Error()
	name, dashes := "", "--"
	if m := unknownLong.FindStringSubmatch(msg); m != nil {
		name = m[1]
	} else if m := unknownShort.FindStringSubmatch(msg); m != nil && len(m[1]) > 1 {
		name, dashes = m[1], "-"
	} else {
		return msg
	}
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	cmd.InheritedFlags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	names = append(names, "help")
	out := "unknown flag " + dashes + name
	if s := suggest.Closest(name, names); s != "" {
		out += "; did you mean --" + s + "?"
	} else if dashes == "-" {
		return msg // a shorthand cluster: pflag's words say which letter
	}
	return out
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
	if c, rest, ferr := root.Find(args); ferr == nil && c == root && len(rest) > 0 && len(args) > 0 &&
		!strings.HasPrefix(args[0], "-") && !strings.HasPrefix(args[0], "__") { // __complete: cobra's, added when it executes
		// `eixamsim runn --users 5`: the word is not a command; say so
		// (cobra would first refuse --users as a flag of the root).
		return unknownCommand(root, args[0])
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
			return usageError("%swant exactly %s, got %d arguments (see '%s --help')", where(cmd), what, len(args), cmd.CommandPath())
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
