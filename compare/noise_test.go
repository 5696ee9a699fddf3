package compare

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/report"
)

// gateCounts are the sample sizes of a 20 s ci-gate run's metrics: few
// SOS, a few hundred of the rest.
var gateCounts = map[string]int{
	"sos.delivered": 17, "sos.puback": 18, "sos.acknowledged": 16, "sos.visible": 17,
	"http.contacts_list": 86, "user.login": 100, "http.me": 200,
}

// gateRun is a run of the ci-gate's shape whose latencies are drawn from
// one log-normal distribution (median 5 ms) times scale, from seed.
func gateRun(seed uint64, scale float64) *Run {
	rng := rand.New(rand.NewPCG(seed, 18))
	s := &report.Summary{Name: "ci-gate", EndReason: report.EndCompleted, Seconds: 20, Metrics: map[string]report.Metric{}}
	r := &Run{Dir: fmt.Sprintf("run-%d", seed), Summary: s, Hists: map[string]*hdr.Histogram{}}
	for _, name := range slices.Sorted(maps.Keys(gateCounts)) {
		n := gateCounts[name]
		h := hdr.New(1, 3_600_000_000, 3)
		for range n {
			_ = h.RecordValue(int64(scale * 5000 * math.Exp(0.5*rng.NormFloat64())))
		}
		r.Hists[name] = h
		s.Metrics[name] = report.MetricFrom(metrics.SummaryOf(name, h, nil), s.Seconds)
	}
	return r
}

// Two runs of one scenario draw from one distribution: no tail moved.
// A tail percentile of 17 values has no confidence interval (its top
// would be past the maximum), so it is "not enough samples", never a
// verdict; before, the interval stopped at the maximum and two such runs
// compared as "tail faster" or "tail slower" whenever one run's top
// values all lay above the other's (982 of 2,100 metrics over 300 seeds).
func TestSameDistributionIsNoTailVerdict(t *testing.T) {
	for pair := range uint64(4) {
		r := Compare(gateRun(2*pair+1, 1), gateRun(2*pair+2, 1), Options{})
		for _, m := range r.Metrics {
			// (The rank test's own verdicts, slower and faster, come at
			// its rate alpha: 18 of 2,100 such metrics over 300 seeds.)
			if m.Verdict == TailFaster || m.Verdict == TailSlower || m.Verdict == Mixed {
				t.Errorf("pair %d: %s (n=%d) is %q between two runs of one distribution", pair, m.Name, gateCounts[m.Name], m.Verdict)
			}
			for _, p := range m.Percentiles {
				if p.Significant {
					t.Errorf("pair %d: %s p%v significant: %+v", pair, m.Name, p.Q, p)
				}
				// The interval's top rank n·q + z·sqrt(n·q·(1-q)) + 1 must
				// not pass n: p99 of 17, p90 of 86 cannot be judged.
				n := float64(gateCounts[m.Name])
				q := p.Q / 100
				few := n*q+normalQuantile(1-DefaultAlpha/2)*math.Sqrt(n*q*(1-q))+1 > n
				if few != (p.Judgement == FewSamples) || few && (p.BaseCI != nil || p.NewCI != nil) {
					t.Errorf("pair %d: %s (n=%v) p%v judged %q with intervals %v %v", pair, m.Name, n, p.Q, p.Judgement, p.BaseCI, p.NewCI)
				}
			}
		}
	}
}
