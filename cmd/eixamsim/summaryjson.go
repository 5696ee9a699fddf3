package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/eixamsim/eixamsim/report"
)

// summaryJSON is --summary-json FILE|- of run and merge: a copy of the
// result directory's summary.json, byte for byte, in FILE, or on stdout
// with "-" for a pipeline (`eixamsim run x.yaml --summary-json - | jq`),
// every line meant for a person then going to stderr.
type summaryJSON string

func (s *summaryJSON) register(fl *pflag.FlagSet) {
	fl.StringVar((*string)(s), "summary-json", "", "also write the run's summary.json to `FILE`, or with - to stdout (the table and every other line then go to stderr), for a pipeline: --summary-json - | jq .end_reason")
}

// human is where the lines for a person go: stderr when stdout is the
// summary's.
func (s summaryJSON) human(stdout, stderr io.Writer) io.Writer {
	if s == "-" {
		return stderr
	}
	return stdout
}

// write copies dir's summary.json to the file or to stdout. A copy that
// fails is a warning: the result directory has the summary either way.
func (s summaryJSON) write(dir string, stdout, stderr io.Writer) {
	if s == "" || dir == "" {
		return
	}
	src := filepath.Join(dir, report.SummaryJSONFile)
	data, err := os.ReadFile(src)
	if err == nil {
		if s == "-" {
			_, err = stdout.Write(data)
		} else {
			err = report.WriteFileAtomic(string(s), func(w io.Writer) error { _, err := w.Write(data); return err })
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "eixamsim: warning: --summary-json %s: %v\n", s, err)
	}
}
