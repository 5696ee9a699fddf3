// Command eixamsim is a load tester and device simulator for backends that
// serve the Eixam Connect mobile SDK. This file only maps subcommands to
// their functions and errors to exit codes; the work lives in the packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/eixamsim/eixamsim/engine"
)

// Exit codes (docs/ci.md). One place picks them: exitCode below.
const (
	exitOK          = 0
	exitInternal    = 1
	exitUsage       = 2
	exitUnreachable = 3
	exitThresholds  = 99
	exitAborted     = 100
	exitInterrupted = 130
)

// exitError carries an exit code through the error chain to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that main exits with code. A nil err stays nil.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// usageError is bad usage: exit 2.
func usageError(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// command is one subcommand: its one-line summary and its entry point. run
// gets the arguments after the subcommand name and the process streams.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is the whole CLI; each entry point lives in its own file.
var commands = map[string]command{
	"serve":    {"run the embedded reference backend until interrupted", runServe},
	"run":      {"run a scenario against a target (default: the embedded backend)", runRun},
	"report":   {"re-render summary.txt and report.html of a result directory", runReport},
	"validate": {"check scenario files without running them (exit 0 or 2)", runValidate},
}

func main() {
	os.Exit(mainWithArgs(os.Args[1:], os.Stdout, os.Stderr))
}

// mainWithArgs runs one subcommand and returns the process exit code. The
// first SIGINT/SIGTERM cancels the context so the command can stop
// gracefully and write its results; a second one exits at once.
func mainWithArgs(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "eixamsim: unknown command %q\n\n", args[0])
		printUsage(stderr)
		return exitUsage
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case sig := <-signals:
			fmt.Fprintf(stderr, "\neixamsim: %v received, stopping (send again to exit at once)\n", sig)
			cancel(errInterrupted)
		case <-finished:
			return
		}
		// The context is cancelled now; only the command's return ends
		// the wait for a second signal.
		select {
		case <-signals:
			fmt.Fprintln(stderr, "eixamsim: second signal, exiting now")
			os.Exit(exitInterrupted)
		case <-finished:
		}
	}()

	err := cmd.run(ctx, args[1:], stdout, stderr)
	return exitCode(err, stderr)
}

// outcomeCode is the exit code of a run's outcome (docs/ci.md).
func outcomeCode(o engine.Outcome) int {
	switch o {
	case engine.Passed:
		return exitOK
	case engine.BadInput:
		return exitUsage
	case engine.Unreachable:
		return exitUnreachable
	case engine.ThresholdsFailed:
		return exitThresholds
	case engine.Aborted:
		return exitAborted
	case engine.Interrupted:
		return exitInterrupted
	}
	return exitInternal
}

// errInterrupted is the cancel cause of the first signal.
var errInterrupted = errors.New("interrupted")

// exitCode prints err (if any) and maps it to the process exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	code := exitInternal
	var ee *exitError
	var re *engine.Error
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case errors.As(err, &re):
		code = outcomeCode(re.Outcome)
	}
	if errors.Is(err, errInterrupted) {
		code = exitInterrupted
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(stderr, "eixamsim: %s\n", msg)
	}
	return code
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "eixamsim: load tester and device simulator for Eixam Connect SDK backends")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: eixamsim <command> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-10s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'eixamsim <command> --help' for a command's flags.")
}

// newFlagSet returns a flag set that reports errors instead of exiting and
// prints its usage to stderr.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: eixamsim %s %s\n\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and turns a flag error into a usage error (exit 2).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return withCode(exitUsage, errors.New("")) // flag already printed the problem
	}
	return nil
}
