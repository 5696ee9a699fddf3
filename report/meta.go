package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/scenario"
)

// Meta identifies a run: which eixamsim ran it, where, with which seed and
// scenario, when, and how it was invoked (summary.json "meta"). It carries
// no secret: the command line is scrubbed before it gets here.
type Meta struct {
	// Version is the eixamsim module version from the build info,
	// "(devel)" for a build from a source tree.
	Version string `json:"version"`
	// Revision is the VCS revision the binary was built from, with
	// "-dirty" when the tree had changes; "" when the build recorded none.
	Revision string `json:"revision,omitempty"`
	// GoVersion is the Go release that built the binary ("go1.26.8").
	GoVersion string `json:"go_version"`
	// Platform is GOOS/GOARCH ("linux/amd64").
	Platform string `json:"platform"`
	// Host is the machine's host name; "" when it cannot be read.
	Host string `json:"host,omitempty"`
	// Cores is the number of logical CPUs of the machine; GOMAXPROCS the
	// number the Go runtime used.
	Cores      int `json:"cores"`
	GOMAXPROCS int `json:"gomaxprocs"`
	// Seed is the seed the run's random choices came from; nil when the
	// run had none to report.
	Seed *uint64 `json:"seed,omitempty"`
	// ScenarioHash identifies the resolved scenario ("" when unknown): two
	// runs with the same hash ran the same scenario.
	ScenarioHash string `json:"scenario_hash,omitempty"`
	// StartUTC and EndUTC are the run's start and end in UTC.
	StartUTC time.Time `json:"start_utc"`
	EndUTC   time.Time `json:"end_utc"`
	// CommandLine is how eixamsim was invoked, secrets replaced by
	// "[redacted]"; empty for a run started from code.
	CommandLine []string `json:"command_line,omitempty"`
	// RunID names the whole run that a shard belongs to: every shard of one
	// run has the same RunID, and merge refuses to mix RunIDs. "" for a run
	// that was not sharded.
	RunID string `json:"run_id,omitempty"`
	// Shard is which slice of the scenario this result holds; nil for a
	// whole (unsharded or merged) run.
	Shard *Shard `json:"shard,omitempty"`
	// Shards lists the shards a merged result was made from; nil
	// otherwise.
	Shards []Shard `json:"shards,omitempty"`
}

// Shard is one slice of a sharded run: shard Index of Count (0-based), as
// `--shard INDEX/COUNT` or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX
// set it.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// Lines is the metadata as "key: value" lines, for summary.txt and
// report.html.
func (m *Meta) Lines() []param {
	if m == nil {
		return nil
	}
	version := m.Version
	if m.Revision != "" {
		version += " (" + m.Revision + ")"
	}
	out := []param{
		{"eixamsim", version + ", " + m.GoVersion + ", " + m.Platform},
		{"host", fmt.Sprintf("%s, %d cores (GOMAXPROCS %d)", orDash(m.Host), m.Cores, m.GOMAXPROCS)},
		{"run", m.StartUTC.UTC().Format(time.RFC3339) + " to " + m.EndUTC.UTC().Format(time.RFC3339)},
	}
	if m.Seed != nil {
		out = append(out, param{"seed", fmt.Sprint(*m.Seed)})
	}
	if m.ScenarioHash != "" {
		out = append(out, param{"scenario hash", m.ScenarioHash})
	}
	if len(m.CommandLine) > 0 {
		out = append(out, param{"command", strings.Join(m.CommandLine, " ")})
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Online is the users.online gauge over the stages (summary.json
// "users_online"), sampled once a second. The teardown after the last
// stage (every user leaving) is not a sample, so a run that held its users
// does not read 0.
type Online struct {
	// Peak is the most users online at any sample, or when an abort or a
	// signal stopped the run (which may come before the first sample).
	Peak int64 `json:"peak"`
	// Stages are the samples of each stage that had any, in stage order.
	Stages []StageOnline `json:"stages"`
}

// StageOnline is users.online during one stage.
type StageOnline struct {
	Name    string `json:"name"`
	Target  int    `json:"target"`
	Min     int64  `json:"min"`
	Max     int64  `json:"max"`
	Samples int    `json:"samples"`
}

// NothingMeasured reports whether no user logged in and connected (the
// exit-3 case of docs/ci.md): user.login has no success. A summary without
// user.login (made by hand) counts every operation but schedule.lag.
func (s *Summary) NothingMeasured() bool {
	if m, ok := s.Metrics[scenario.UserLogin]; ok {
		return m.Count == 0
	}
	return operations(s) == 0
}

// GeneratorBound reports whether the simulator's own health judged the run
// generator-bound (summary.json "generator").
func (s *Summary) GeneratorBound() bool {
	return s.Generator != nil && s.Generator.State == health.GeneratorBound
}

// GeneratorNotJudged reports whether the run was too short for the
// simulator's own health to be judged (summary.json "generator").
func (s *Summary) GeneratorNotJudged() bool {
	return s.Generator != nil && s.Generator.State == health.NotJudged
}

// Judged reports whether the run's verdicts judge the target: the run
// completed and the simulator was judged and not the bottleneck. Verdicts
// of an interrupted or aborted run judge what ran up to the stop, those of
// a generator-bound run the simulator as much as the target, and those of
// a run too short to judge the simulator may: a rule that held there is
// not a pass (it is skipped); a rule that failed still failed.
func (s *Summary) Judged() bool {
	return s.EndReason == EndCompleted && !s.GeneratorBound() && !s.GeneratorNotJudged()
}

// verdictMark is PASS or FAIL, or SKIP for a rule that held in a run that
// did not complete (or was generator-bound) and for a rule judged only at
// the end of a run that did not complete.
func (s *Summary) verdictMark(v Verdict) string {
	switch {
	case s.NotJudged(v):
		return "SKIP"
	case !v.Passed:
		return "FAIL"
	case !s.Judged():
		return "SKIP"
	}
	return "PASS"
}

// notJudgedReason says why a rule that held is not a pass.
func (s *Summary) notJudgedReason() string {
	switch {
	case s.EndReason == EndCompleted && s.GeneratorBound():
		return "not judged: the run was generator-bound (the simulator was the bottleneck); the rule held on what was measured"
	case s.EndReason == EndCompleted:
		return "not judged: the run was too short to judge whether the simulator kept up (generator: not judged); the rule held on what was measured"
	}
	return fmt.Sprintf("not judged: the run was %s after %s; the rule held on what ran", s.EndReason, fmtSeconds(s.Seconds))
}

// endOnlyNote says why a rule judged only at a run's end is not judged.
const endOnlyNote = "judged only at the end of a whole run"

// endOnlyReason says why v (NotJudged) is not judged.
func (s *Summary) endOnlyReason() string {
	return fmt.Sprintf("not judged: the rule is %s, and the run was %s after %s", endOnlyNote, s.EndReason, fmtSeconds(s.Seconds))
}

// MissingShards lists the shards of the run that a merged result lacks
// (Shards holds fewer than their count), in order; nil for a result that
// is whole or not merged.
func (m *Meta) MissingShards() []int {
	if m == nil || len(m.Shards) == 0 {
		return nil
	}
	have := map[int]bool{}
	for _, sh := range m.Shards {
		have[sh.Index] = true
	}
	var out []int
	for i := range m.Shards[0].Count {
		if !have[i] {
			out = append(out, i)
		}
	}
	return out
}
