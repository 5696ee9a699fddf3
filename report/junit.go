package report

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

// JUnitFile is the name of the JUnit report in a result directory.
const JUnitFile = "junit.xml"

// WriteJUnit writes the threshold verdicts of s as a JUnit XML report, the
// format GitHub (through a JUnit action), GitLab (artifacts:reports:junit),
// Jenkins and Azure render: one <testsuite> named after the scenario with
// one <testcase> per rule, named "<metric>: <rule>" ("sos.delivered: p(95)
// < 2s"). A failed rule carries a <failure> whose message is the observed
// value; every case has the observed value in <system-out>. Cases point at
// the rule's line in the scenario file (file and line attributes), so CI
// annotations land on it. A scenario without thresholds gives an empty
// suite. Whether the run completed, aborted or was interrupted is in the
// suite's end_reason property and <system-out>; in a run that did not
// complete, was generator-bound or too short to judge the generator
// (Summary.Judged), a rule that held is <skipped> with the reason, since
// it was not judged on a whole run; so is, in a run that did not complete,
// a rule judged only at the end (Summary.NotJudged) whatever it observed.
// failed, when not nil, is why the run failed (its results not all
// written, say): it comes first, as a case "eixamsim: run" with an <error>
// saying so, and the suite fails whatever its rules did.
func WriteJUnit(w io.Writer, s *Summary, failed error) error {
	file := scenarioFile(s)
	suite := junitSuite{
		Name:      "eixamsim " + s.Name,
		Tests:     len(s.Thresholds),
		Time:      junitSeconds(s.Seconds),
		Timestamp: s.Start.UTC().Format("2006-01-02T15:04:05"),
		Properties: []junitProperty{
			{"scenario", s.Name},
			{"end_reason", string(s.EndReason)},
			{"target", string(s.Target.Kind)},
		},
		SystemOut: fmt.Sprintf("eixamsim run %q against %s target: %s after %s", s.Name, s.Target.Kind, s.EndReason, fmtSeconds(s.Seconds)),
	}
	if file != "" {
		suite.Properties = append(suite.Properties, junitProperty{"scenario_file", file})
	}
	if s.GeneratorBound() || s.GeneratorNotJudged() {
		suite.Properties = append(suite.Properties, junitProperty{"generator", string(s.Generator.State)})
		suite.SystemOut += "\ngenerator: " + s.Generator.Verdict.String()
	}
	for _, n := range s.Notes {
		suite.SystemOut += "\nnote: " + n
	}
	if failed != nil {
		why := "the run failed: " + strings.ReplaceAll(failed.Error(), "\n", "; ")
		suite.Tests++
		suite.Errors++
		suite.SystemOut += "\n" + why
		suite.Cases = append(suite.Cases, junitCase{
			Name:      "eixamsim: run",
			Classname: "eixamsim." + s.Name,
			Time:      "0",
			Error:     &junitFailure{Type: "run_failed", Message: why, Text: failed.Error()},
		})
	}
	for _, v := range s.Thresholds {
		c := junitCase{
			Name:      v.Name(),
			Classname: "eixamsim." + s.Name,
			Time:      "0",
			SystemOut: "observed " + v.ObservedText(),
		}
		if file != "" && v.Line > 0 {
			c.File, c.Line = file, v.Line
		}
		switch {
		case s.NotJudged(v):
			suite.Skipped++
			c.Skipped = &junitSkipped{Message: s.endOnlyReason()}
		case !v.Passed:
			suite.Failures++
			c.Failure = &junitFailure{
				Type:    "threshold",
				Message: failureMessage(v),
				Text:    failureText(v, s, file),
			}
		case !s.Judged():
			suite.Skipped++
			c.Skipped = &junitSkipped{Message: s.notJudgedReason()}
		}
		suite.Cases = append(suite.Cases, c)
	}
	doc := junitSuites{
		Name:     "eixamsim",
		Tests:    suite.Tests,
		Failures: suite.Failures,
		Errors:   suite.Errors,
		Skipped:  suite.Skipped,
		Time:     suite.Time,
		Suites:   []junitSuite{suite},
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("junit.xml: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("junit.xml: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("junit.xml: %w", err)
	}
	return nil
}

// WriteJUnitFile writes dir/junit.xml atomically (failed as WriteJUnit).
func WriteJUnitFile(dir string, s *Summary, failed error) error {
	return WriteFileAtomic(filepath.Join(dir, JUnitFile), func(w io.Writer) error { return WriteJUnit(w, s, failed) })
}

// failureMessage is the one-line failure: "observed 2.41s, want p(95) < 2s".
func failureMessage(v Verdict) string {
	if v.NoData {
		return fmt.Sprintf("no samples: %s measured nothing to judge %s by", v.Key(), v.Rule)
	}
	return fmt.Sprintf("observed %s, want %s", v.ObservedText(), v.Rule)
}

// failureText is the failure's body: the rule, where it is, what was seen.
func failureText(v Verdict, s *Summary, file string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "threshold %s\nobserved  %s\n", v.Name(), v.ObservedText())
	if v.Line > 0 {
		where := "line " + strconv.Itoa(v.Line)
		if file != "" {
			where = file + ":" + strconv.Itoa(v.Line)
		}
		fmt.Fprintf(&b, "rule at   %s\n", where)
	}
	if v.Note != "" {
		fmt.Fprintf(&b, "note      %s\n", v.Note)
	}
	fmt.Fprintf(&b, "run       %s after %s", s.EndReason, fmtSeconds(s.Seconds))
	return b.String()
}

// scenarioFile is the scenario's "file" from the summary's scenario echo
// (a *scenario.Scenario in a run, raw JSON when read back), or "".
func scenarioFile(s *Summary) string {
	if s.Scenario == nil {
		return ""
	}
	data, err := json.Marshal(s.Scenario)
	if err != nil {
		return ""
	}
	var echo struct {
		File string `json:"file"`
	}
	if json.Unmarshal(data, &echo) != nil {
		return ""
	}
	return filepath.ToSlash(echo.File)
}

func junitSeconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }

// The JUnit XML schema, as CI systems read it.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"` // the run failed (not a rule)
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// junitSkipped marks a case not judged: a rule that held in a run that was
// interrupted, aborted, generator-bound or too short to judge the
// generator, or a rule judged only at the end of a run that did not
// complete.
type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}
