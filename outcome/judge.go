package outcome

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// Facts are what decides the verdict of a run that started: what it
// measured and how it stopped.
type Facts struct {
	// Summary is what the run measured (a merge's: what its shards
	// measured together), its end reason and its judged thresholds.
	Summary *report.Summary
	// RunErr is why the run itself failed; WriteErr why writing its
	// results did. Nil when they did not.
	RunErr, WriteErr error
	// Stop is why the run stopped before its end, the message of an
	// interrupted or aborted verdict: a run's cancel cause (the signal,
	// abort_on_fail's breach); a merge's missing, interrupted or aborted
	// shards. Nil for a run that completed.
	Stop error
}

// Judge is the verdict of a run that started, an *Error (nil: passed);
// the first match wins:
//
//	Failed           the run or writing its results failed
//	Interrupted      stopped by the context, or a merge lacks shards (results written)
//	Aborted          abort_on_fail stopped it (results written)
//	Unreachable      no user could log in and connect: nothing was measured
//	GeneratorBound   the simulator was the bottleneck (its thresholds are not the verdict)
//	ThresholdsFailed a threshold failed
//	NotJudged        too short to judge the simulator (a rule that held is no pass)
//	nil              otherwise
func Judge(f Facts) error {
	sum := f.Summary
	switch {
	case f.RunErr != nil:
		return Wrap(Failed, f.RunErr)
	case f.WriteErr != nil:
		return Wrap(Failed, f.WriteErr)
	case sum.EndReason == report.EndInterrupted:
		return Wrap(Interrupted, stopped(f.Stop, sum.EndReason))
	case sum.EndReason == report.EndAborted:
		return Wrap(Aborted, stopped(f.Stop, sum.EndReason))
	case sum.NothingMeasured():
		msg, hints := describeErrors(sum)
		return &Error{Outcome: Unreachable, Err: fmt.Errorf("no user could log in and connect; %s", msg), Hints: hints}
	}
	failed := sum.FailedThresholds()
	if sum.GeneratorBound() {
		judged := "no threshold failed"
		if len(failed) > 0 {
			judged = fmt.Sprintf("%d of %d thresholds failed on what was measured, not judged", len(failed), len(sum.Thresholds))
		}
		reasons := make([]string, len(sum.Generator.Reasons))
		for i, r := range sum.Generator.Reasons {
			reasons[i] = r.Message
		}
		return &Error{Outcome: GeneratorBound,
			Err: fmt.Errorf("generator-bound: the simulator was the bottleneck, not the target (%s); %s",
				strings.Join(reasons, "; "), judged),
			Hints: []string{"run fewer users per process (shard the run) or on a bigger machine; docs/health.md"}}
	}
	if len(failed) > 0 {
		parts := make([]string, len(failed))
		for i, v := range failed {
			parts[i] = fmt.Sprintf("%s (observed %s)", v.Name(), v.ObservedText())
		}
		return Wrap(ThresholdsFailed, fmt.Errorf("%d of %d thresholds failed: %s",
			len(failed), len(sum.Thresholds), strings.Join(parts, "; ")))
	}
	if sum.GeneratorNotJudged() {
		held := ""
		if n := len(sum.Thresholds); n > 0 {
			held = fmt.Sprintf("; %d of %d thresholds held, not judged", n, n)
		}
		return &Error{Outcome: NotJudged, Err: fmt.Errorf("%s%s", sum.Generator.Verdict, held),
			Hints: []string{"lengthen the stages (--duration) so the simulator's health can be judged; docs/health.md"}}
	}
	return nil
}

// stopped is the reason of a run that ended early: stop, or its end
// reason when nothing says more (an error path never returns nil).
func stopped(stop error, end report.EndReason) error {
	if stop != nil {
		return stop
	}
	return errors.New(string(end))
}

// describeErrors lists the error classes of a run in which nobody
// connected, and a hint for each class that has an obvious cause.
func describeErrors(s *report.Summary) (msg string, hints []string) {
	var parts []string
	seen := map[string]bool{}
	for _, name := range s.MetricNames() {
		m := s.Metrics[name]
		for _, class := range slices.Sorted(maps.Keys(m.ErrorsBy)) {
			parts = append(parts, fmt.Sprintf("%s %s=%d", name, class, m.ErrorsBy[class]))
			if hint := errorHint(name, class); hint != "" {
				seen[hint] = true
			}
		}
	}
	if len(parts) == 0 {
		return "no errors were recorded", nil
	}
	return "errors: " + strings.Join(parts, ", "), slices.Sorted(maps.Keys(seen))
}

// errorHint explains an error class whose cause is almost always the same.
func errorHint(metric, class string) string {
	switch {
	case metric == scenario.HTTPMe && class == "http_401":
		return "the backend refused the signed identity: check identity.app_id and identity.app_secret (or the sessions file) against the backend's app configuration"
	case class == "auth_refused":
		return "the broker refused the MQTT credentials (username sdk:<appId>:<externalUserId>, password = userHash): check the app id and secret"
	case class == "tls_verify":
		return "the server's certificate is not trusted: set target.tls.ca_file (or insecure_skip_verify: true for a rehearsal)"
	case class == "connection_refused":
		return "nothing listens at the target address: check target.http and target.mqtt"
	}
	return ""
}
