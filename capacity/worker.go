package capacity

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/health"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/procs"
	"github.com/eixamsim/eixamsim/scenario"
)

// stepLine is one step as the parent sends it to a worker, one JSON
// object per line on the worker's steps pipe: the worker's share of it.
type stepLine struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	// Users is the worker's online-users target.
	Users int `json:"users"`
	// Rates are the worker's open-model rates, arrivals per second, by
	// behaviour.
	Rates map[string]float64 `json:"rates,omitempty"`
}

func (l stepLine) marshal() ([]byte, error) { return json.Marshal(l) }

// splitStep is worker w of n's share of step i, split as scenario.Slice
// splits a run: users n ways with the remainder one each to the lowest
// indexes (worker w's users are its slice's first ones, so the workers'
// users are disjoint and sum to the step's), rates divided by n.
func splitStep(st fleet.Step, i, w, n int) stepLine {
	q, r := st.Users/n, st.Users%n
	users := q
	if w < r {
		users++
	}
	l := stepLine{Index: i, Name: st.Name, Users: users}
	if len(st.Rates) > 0 {
		l.Rates = make(map[string]float64, len(st.Rates))
		for b, rate := range st.Rates {
			l.Rates[b] = rate.PerSecond / float64(n)
		}
	}
	return l
}

// WorkerOptions are a worker process's side of a search.
type WorkerOptions struct {
	// Steps is the steps pipe (procs.StepsFD): one stepLine per step; its
	// end ends the run.
	Steps io.ReadCloser
	// Status is where the worker writes its procs.Status lines
	// (procs.StatusFD): every latency metric's interval histogram, error
	// classes, its own health, and a Settled mark per step.
	Status io.Writer
	// Target is the parent's backend ("HTTP_URL,MQTT_URL", procs.Retarget)
	// when the scenario's target is embedded; "" otherwise.
	Target string
	// Engine places the run: Shard, RunID and StartAt (as procs.Run gives
	// them), Warn, Logger, CommandLine. Progress and Steps are set here.
	Engine engine.Options
}

// RunWorker runs worker process opts.Engine.Shard of a search of sc (its
// capacity block resolved as the parent's): the search's run scenario
// (as one process would run it), sliced to the shard, for as long as the
// parent sends steps. The result and error are engine.Run's.
func RunWorker(ctx context.Context, sc *scenario.Scenario, opts WorkerOptions) (*engine.Result, error) {
	defer opts.Steps.Close()
	if sc.Capacity == nil {
		return nil, outcome.Wrap(outcome.BadInput, errors.New("capacity worker: the scenario has no capacity block"))
	}
	if opts.Engine.Shard == nil {
		return nil, outcome.Wrap(outcome.BadInput, errors.New("capacity worker: no shard"))
	}
	cfg, err := NewConfig(*sc.Capacity, sc)
	if err != nil {
		return nil, outcome.Wrap(outcome.BadInput, err)
	}
	run, _ := runScenario(sc, cfg)
	if opts.Target != "" {
		if run, err = procs.Retarget(run, opts.Target); err != nil {
			return nil, outcome.Wrap(outcome.BadInput, fmt.Errorf("capacity worker: %s: %w", procs.TargetFlag, err))
		}
	}
	mon := health.NewMonitor(health.DefaultLimits(), time.Now()) // sampled here, judged by the parent
	status := procs.NewStatusWriter(opts.Status, nil).WithHealth(func(p metrics.Point) health.Sample {
		return mon.Sample(time.Now(), healthInput(p))
	})
	eo := opts.Engine
	eo.Progress = status
	eo.Steps = newStepReader(opts.Steps, status)
	return engine.Run(ctx, run, eo)
}

// stepReader is a worker's fleet.StageSource: the steps the parent sends,
// and a Settled mark on the status pipe for each.
type stepReader struct {
	lines  <-chan stepLine
	status *procs.StatusWriter
}

// newStepReader reads r's lines in a goroutine of its own until r ends
// (the parent closed the pipe, or r was closed).
func newStepReader(r io.Reader, status *procs.StatusWriter) *stepReader {
	lines := make(chan stepLine)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			var l stepLine
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				return // the parent speaks only stepLines: a bad one ends the run
			}
			lines <- l
		}
	}()
	return &stepReader{lines: lines, status: status}
}

var _ fleet.StageSource = (*stepReader)(nil)

// Next implements fleet.StageSource: the parent's next step, when it
// sends one; false when the pipe ends.
func (s *stepReader) Next(ctx context.Context) (fleet.Step, bool) {
	select {
	case <-ctx.Done():
		return fleet.Step{}, false
	case l, ok := <-s.lines:
		if !ok {
			return fleet.Step{}, false
		}
		st := fleet.Step{Name: l.Name, Users: l.Users}
		if len(l.Rates) > 0 {
			st.Rates = make(map[string]scenario.Rate, len(l.Rates))
			for b, r := range l.Rates {
				st.Rates[b] = scenario.Rate{PerSecond: r}
			}
		}
		return st, true
	}
}

// Settled implements fleet.StageSource: the parent hears of it on the
// status pipe.
func (s *stepReader) Settled(i int, at time.Time) { s.status.Settled(i, at) }
