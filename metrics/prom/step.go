package prom

import "github.com/prometheus/client_golang/prometheus"

// Family names of a capacity search (Config.Step).
const (
	familyStep      = namespace + "capacity_step"
	familyStepLoad  = namespace + "capacity_step_load"
	familyStepsDone = namespace + "capacity_steps_total"
	familyBestLoad  = namespace + "capacity_passed_load"
)

// Step is where a capacity search stands, for its families.
type Step struct {
	// Index is the 0-based step in progress (the last one once the search
	// has ended); Load its load, users or arrivals per second of Dimension
	// ("users" or "<behaviour>.rate").
	Index     int
	Load      float64
	Dimension string
	// Passed, Failed and Inconclusive count the steps judged so far.
	Passed, Failed, Inconclusive int
	// PassedLoad is the highest load a step passed at; 0 before any did.
	PassedLoad float64
}

// stepDescs describe the capacity families.
type stepDescs struct {
	step, load, done, best *prometheus.Desc
}

func newStepDescs(cl prometheus.Labels) stepDescs {
	return stepDescs{
		step: prometheus.NewDesc(familyStep, "capacity: the 0-based index of the search's step in progress.", nil, cl),
		load: prometheus.NewDesc(familyStepLoad, "capacity: the load of the step in progress (users, or arrivals per second), with the searched dimension as a label.", []string{"dimension"}, cl),
		done: prometheus.NewDesc(familyStepsDone, "capacity: steps judged so far, by verdict (pass, fail, inconclusive).", []string{"verdict"}, cl),
		best: prometheus.NewDesc(familyBestLoad, "capacity: the highest load a step passed at so far (0 before any did).", []string{"dimension"}, cl),
	}
}

func (d stepDescs) describe(ch chan<- *prometheus.Desc) {
	ch <- d.step
	ch <- d.load
	ch <- d.done
	ch <- d.best
}

func (d stepDescs) collect(ch chan<- prometheus.Metric, s Step) {
	ch <- prometheus.MustNewConstMetric(d.step, prometheus.GaugeValue, float64(s.Index))
	ch <- prometheus.MustNewConstMetric(d.load, prometheus.GaugeValue, s.Load, s.Dimension)
	ch <- prometheus.MustNewConstMetric(d.best, prometheus.GaugeValue, s.PassedLoad, s.Dimension)
	for verdict, n := range map[string]int{"pass": s.Passed, "fail": s.Failed, "inconclusive": s.Inconclusive} {
		ch <- prometheus.MustNewConstMetric(d.done, prometheus.CounterValue, float64(n), verdict)
	}
}
