package engine

import (
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/report"
)

// A run whose results cannot all be written (here summary.json: a
// directory of that name is in the way, as a full disk would refuse the
// file) fails, and its junit.xml says so: a failing case naming the file,
// not "every threshold passed" next to exit 1.
func TestRunThatCannotWriteItsResultsFailsInJUnit(t *testing.T) {
	t.Parallel()
	sc, _ := load(t, header+`name: nowrite
stages:
  - { name: steady, for: 2s, users: 20 }
thresholds:
  user.login: ["count > 0", "errors <= 0%"]
`)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, report.SummaryJSONFile, "in-the-way"), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), sc, Options{Dir: dir})
	if outcome.Of(err) != outcome.Failed || !strings.Contains(err.Error(), report.SummaryJSONFile) {
		t.Fatalf("outcome %v (%v), want failed naming summary.json", outcome.Of(err), err)
	}
	if failed := res.Summary.FailedThresholds(); len(failed) != 0 {
		t.Fatalf("thresholds failed: %+v; the test needs them to pass", failed)
	}
	raw, err := os.ReadFile(filepath.Join(dir, report.JUnitFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests  int `xml:"tests,attr"`
		Errors int `xml:"errors,attr"`
		Suites []struct {
			Errors int `xml:"errors,attr"`
			Cases  []struct {
				Name  string `xml:"name,attr"`
				Error *struct {
					Message string `xml:"message,attr"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil || len(doc.Suites) != 1 {
		t.Fatalf("junit.xml: %v\n%s", err, raw)
	}
	suite := doc.Suites[0]
	if doc.Tests != 3 || doc.Errors != 1 || suite.Errors != 1 || len(suite.Cases) != 3 {
		t.Fatalf("junit.xml: %d tests, %d errors, %d cases; want 3, 1 and 3:\n%s", doc.Tests, doc.Errors, len(suite.Cases), raw)
	}
	c := suite.Cases[0]
	if c.Error == nil || !strings.HasPrefix(c.Error.Message, "the run failed: ") || !strings.Contains(c.Error.Message, report.SummaryJSONFile) {
		t.Errorf("junit.xml's first case %q: error %+v, want one saying the run failed writing summary.json", c.Name, c.Error)
	}
}
