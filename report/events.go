package report

import (
	"github.com/eixamsim/eixamsim/metrics"

	"fmt"
	"strings"
)

// EventLine is event e as one line of summary.txt.
func EventLine(e metrics.Event) string {
	if e.AtS == nil {
		return fmt.Sprintf("%s: did not happen (the run ended first)", e.Name)
	}
	var rec []string
	for _, share := range metrics.RecoveryShares {
		v := "never"
		if p := e.Recovery[share]; p != nil {
			v = fmtSeconds(*p)
		}
		rec = append(rec, share+"% "+v)
	}
	errs := "0"
	if len(e.ErrorsBy) > 0 {
		var parts []string
		var n int64
		for _, c := range sortedKeys(e.ErrorsBy) {
			parts = append(parts, fmt.Sprintf("%s=%d", c, e.ErrorsBy[c]))
			n += e.ErrorsBy[c]
		}
		errs = fmt.Sprintf("%d (%s)", n, strings.Join(parts, " "))
	}
	return fmt.Sprintf("%s at %s: %d users left, %d back, %d never back; back online: %s; during the %s recovery %.1f logins/s, %.1f reconnect attempts/s, errors %s; telemetry due while away %d, SOS not raised %.1f",
		e.Name, fmtSeconds(*e.AtS), e.Affected, e.Back, e.NeverBack, strings.Join(rec, ", "), fmtSeconds(e.Window),
		e.LoginsPerS, e.ReconnectsPerS, errs, e.TelemetryUnsent, e.SOSNotRaised)
}
