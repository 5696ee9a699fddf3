// Command eixamsim is a load tester and device simulator for backends that
// serve the Eixam Connect mobile SDK. This file runs the command line
// (cobra, root.go) and maps errors to exit codes; the work lives in the
// packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/procs"
)

// Exit codes (docs/ci.md). One place picks them: exitCode below.
const (
	exitOK             = 0
	exitInternal       = 1
	exitUsage          = 2
	exitUnreachable    = 3
	exitGeneratorBound = 4
	exitNotJudged      = 5
	exitThresholds     = 99
	exitAborted        = 100
	exitInterrupted    = 130
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

func main() {
	// A closed stdout or stderr (`eixamsim run x.yaml | head -2`, or the
	// pipes of a --procs parent that was killed) must not end a run before
	// its results are written: with SIGPIPE notified, a write to a broken
	// pipe fails with EPIPE on fds 1 and 2 as on any other, instead of
	// killing the process (os/signal), and every print ignores its error.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	os.Exit(mainWithArgs(os.Args[1:], os.Stdout, os.Stderr))
}

// mainWithArgs runs one command line and returns the process exit code.
// The first SIGINT/SIGTERM cancels the context so the command can stop
// gracefully and write its results; a second one exits at once, but in a
// worker of --procs (isWorker), which always stops gracefully.
func mainWithArgs(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	finished := make(chan struct{})
	defer close(finished)
	worker := isWorker(args)
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
		for {
			select {
			case <-signals:
				if worker {
					continue
				}
				fmt.Fprintln(stderr, "eixamsim: second signal, exiting now")
				os.Exit(exitInterrupted)
			case <-finished:
				return
			}
		}
	}()
	return exitCode(execute(ctx, args, stdout, stderr), stderr)
}

// isWorker reports whether the command line is a worker of --procs (it
// writes status lines: procs.StatusFDFlag). Nobody at a terminal signals a
// worker (it has a process group of its own): its signals are its
// parent's one forwarded interrupt and its parent-death SIGTERM, which the
// kernel sends again for each of the dying parent's threads it passes
// through (PR_SET_PDEATHSIG follows the thread). Every signal after the
// first asks for the same graceful stop, so that the shard is written.
func isWorker(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		return a == procs.StatusFDFlag || strings.HasPrefix(a, procs.StatusFDFlag+"=")
	})
}

// outcomeCode is the exit code of a run's outcome (docs/ci.md).
func outcomeCode(o outcome.Outcome) int {
	switch o {
	case outcome.Passed:
		return exitOK
	case outcome.BadInput:
		return exitUsage
	case outcome.Unreachable:
		return exitUnreachable
	case outcome.GeneratorBound:
		return exitGeneratorBound
	case outcome.NotJudged:
		return exitNotJudged
	case outcome.ThresholdsFailed:
		return exitThresholds
	case outcome.Aborted:
		return exitAborted
	case outcome.Interrupted:
		return exitInterrupted
	}
	return exitInternal
}

// errInterrupted is the cancel cause of the first signal.
var errInterrupted = errors.New("interrupted")

// exitCode prints err (if any) and maps it to the process exit code. A
// run's hints come first, so the last line of stderr is always the reason
// (docs/ci.md).
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	var re *outcome.Error
	if !errors.As(err, &ee) && errors.As(err, &re) {
		for _, h := range re.Hints {
			fmt.Fprintf(stderr, "hint: %s\n", h)
		}
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(stderr, "eixamsim: %s\n", msg)
	}
	return codeOf(err)
}

// codeOf is the exit code err means.
func codeOf(err error) int {
	if err == nil {
		return exitOK
	}
	code := exitInternal
	var ee *exitError
	var re *outcome.Error
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case errors.As(err, &re):
		code = outcomeCode(re.Outcome)
	}
	if errors.Is(err, errInterrupted) {
		code = exitInterrupted
	}
	return code
}
