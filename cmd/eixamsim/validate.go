package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/eixamsim/eixamsim/scenario"
)

// runValidate checks scenario files without running them: everything
// `run` checks before it starts (strict YAML, ${VAR} expansion, defaults,
// validation, threshold rules and metric names, the sessions CSV and TLS
// files), for every file given. Each problem is printed on stderr as
// FILE:LINE:COLUMN: PATH: MESSAGE; each valid file gets one "ok" line on
// stdout. It returns nil when every file is valid, else an exit-2 error.
func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate", "[flags] SCENARIO.yaml...", stderr)
	quiet := fs.Bool("quiet", false, "print only problems")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usageError("validate: want at least one scenario file")
	}
	invalid, problems := 0, 0
	for _, path := range fs.Args() {
		sc, err := scenario.Load(path, scenario.Options{})
		if err != nil {
			invalid++
			var list scenario.ErrorList
			if errors.As(err, &list) {
				problems += len(list)
			} else {
				problems++
			}
			fmt.Fprintln(stderr, err) // one problem per line, located, secrets scrubbed
			continue
		}
		if !*quiet {
			fmt.Fprintf(stdout, "%s: ok (%s: %d users, %s, %d threshold rules)\n",
				path, sc.Name, sc.Fleet.Users, sc.Duration(), countRules(sc.Thresholds))
		}
	}
	if invalid > 0 {
		return usageError("validate: %d of %d files invalid, %d problems", invalid, fs.NArg(), problems)
	}
	return nil
}

// countRules counts the threshold rules of every metric.
func countRules(th scenario.Thresholds) int {
	n := 0
	for _, mr := range th.Metrics {
		n += len(mr.Rules)
	}
	return n
}
