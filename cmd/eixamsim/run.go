package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// runFlags are the command-line overrides of `eixamsim run`.
type runFlags struct {
	users      int
	duration   time.Duration
	out        string
	noProgress bool
	quiet      bool
	// metricsAddr serves live Prometheus metrics there (metricsaddr.go).
	metricsAddr string
}

// runRun runs one scenario: start the target, run the fleet, write the
// result directory, and pick the exit code.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "[flags] SCENARIO.yaml", stderr)
	var f runFlags
	fs.IntVar(&f.users, "users", 0, "override fleet.users")
	fs.DurationVar(&f.duration, "duration", 0, "override the run length (replaces the stages with one stage at fleet.users)")
	fs.StringVar(&f.out, "out", "", "result directory (default: the scenario's output.dir)")
	fs.BoolVar(&f.noProgress, "no-progress", false, "no live progress")
	fs.BoolVar(&f.quiet, "quiet", false, "print nothing but problems and the final verdict")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve live Prometheus metrics at http://ADDR/metrics (e.g. :9464)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError("run: want exactly one scenario file, got %d arguments", fs.NArg())
	}
	opts := scenario.Options{}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "users":
			opts.Users = &f.users
		case "duration":
			opts.Duration = &f.duration
		case "out":
			opts.OutDir = &f.out
		}
	})
	sc, err := scenario.Load(fs.Arg(0), opts)
	if err != nil {
		return withCode(exitUsage, err)
	}
	return runScenario(ctx, sc, f, stdout, stderr)
}

func runScenario(ctx context.Context, sc *scenario.Scenario, f runFlags, stdout, stderr io.Writer) error {
	if err := fleet.NewPlan(sc, sc.Target.Embedded != nil).Check(targetHosts(sc)); err != nil {
		return withCode(exitUsage, err)
	}
	tgt, err := startTarget(ctx, sc)
	if err != nil {
		return err
	}
	defer tgt.close()

	start := time.Now()
	dir, err := sc.Output.Render(sc.Name, start)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return withCode(exitInternal, fmt.Errorf("result directory: %w", err))
	}
	reg := metrics.NewRegistry()
	hlogs, err := metrics.NewHlogWriter(filepath.Join(dir, report.HdrDir), start)
	if err != nil {
		return withCode(exitInternal, err)
	}
	prog := newProgress(stderr, f, sc.Fleet.Users) // progress.go
	collector := metrics.NewCollector(reg, start, prog.Sink(hlogs))
	runner, err := fleet.New(fleet.Config{
		Scenario: sc,
		HTTPURL:  tgt.httpURL,
		MQTTURL:  tgt.mqttURL,
		TLS:      tgt.tls,
		Metrics:  reg,
	})
	if err != nil {
		return withCode(exitUsage, err)
	}
	stopMetrics, err := serveMetrics(f.metricsAddr, reg, start, runner, stderr, f.quiet)
	if err != nil {
		return err
	}
	defer stopMetrics()
	if !f.quiet {
		fmt.Fprintf(stderr, "eixamsim: running %q: %d users for %v against %s (%s, %s)\n",
			sc.Name, sc.Fleet.Users, sc.Duration(), tgt.kind, tgt.httpURL, tgt.mqttURL)
	}

	tickDone := make(chan struct{})
	tickStop := make(chan struct{})
	go func() {
		defer close(tickDone)
		tickEvery(collector, hlogs, tickStop, func(p metrics.Point) { prog.Update(runner.Status(), p) })
	}()
	runCtx, stopRun := context.WithCancelCause(ctx) // abort_on_fail cancels it (gate.go)
	defer stopRun(nil)
	stopWatch := watchAborts(sc.Thresholds, collector, start, stopRun)
	res, runErr := runner.Run(runCtx)
	stopWatch()
	close(tickStop)
	<-tickDone
	prog.Close()
	collector.Tick(time.Now())

	sum := buildSummary(sc, tgt, res, reg, collector, endReason(runCtx, res))
	var abort *abortError
	if errors.As(context.Cause(runCtx), &abort) {
		sum.Notes = append(sum.Notes, abort.Error())
	}
	sum.Thresholds = judge(sc.Thresholds, collector, sum.Seconds, abort)
	writeErr := errors.Join(hlogs.Close(), report.WriteDir(dir, sum)) // after Close: report.html reads the logs
	if !f.quiet {
		report.WriteText(stdout, sum)
		fmt.Fprintf(stderr, "eixamsim: results in %s\n", dir)
	}
	return runOutcome(runCtx, sum, runErr, writeErr)
}

// tickEvery closes one metrics interval per second until stop is closed,
// flushing the hlog files so a crash loses at most a second.
func tickEvery(c *metrics.Collector, hlogs *metrics.HlogWriter, stop <-chan struct{}, each func(metrics.Point)) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			c.Tick(now)
			_ = hlogs.Flush()
			each(c.Last())
		}
	}
}

// buildSummary assembles summary.json from the run.
func buildSummary(sc *scenario.Scenario, tgt *target, res fleet.Result, reg *metrics.Registry, c *metrics.Collector, endReason string) *report.Summary {
	seconds := res.End.Sub(res.Start).Seconds()
	s := &report.Summary{
		Schema:    "eixamsim/summary",
		Version:   report.SchemaVersion,
		Name:      sc.Name,
		Scenario:  sc,
		Target:    report.Target{Kind: tgt.kind, HTTP: tgt.httpURL, MQTT: tgt.mqttURL},
		Start:     res.Start,
		End:       res.End,
		Seconds:   seconds,
		EndReason: endReason,
		Metrics:   map[string]report.Metric{},
		Counters:  reg.Values(),
		Series:    c.Series(),
	}
	for _, st := range res.Stages {
		s.Stages = append(s.Stages, report.Stage{Name: st.Name, Users: st.Users, Start: st.Start, End: st.End})
	}
	for _, m := range reg.Summaries() {
		s.Metrics[m.Name] = report.MetricFrom(m, seconds)
	}
	return s
}

// describeErrors lists the error classes of a run in which nobody
// connected, with a hint for the classes that have an obvious cause.
func describeErrors(s *report.Summary) string {
	var parts []string
	hints := map[string]bool{}
	for _, name := range s.MetricNames() {
		m := s.Metrics[name]
		for _, class := range sortedClasses(m.ErrorsBy) {
			parts = append(parts, fmt.Sprintf("%s %s=%d", name, class, m.ErrorsBy[class]))
			if hint := errorHint(name, class); hint != "" {
				hints[hint] = true
			}
		}
	}
	if len(parts) == 0 {
		return "no errors were recorded"
	}
	msg := "errors: " + strings.Join(parts, ", ")
	for _, h := range slices.Sorted(maps.Keys(hints)) {
		msg += "\nhint: " + h
	}
	return msg
}

// errorHint explains an error class whose cause is almost always the same.
func errorHint(metric, class string) string {
	switch {
	case metric == "http.me" && class == "http_401":
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

func sortedClasses(m map[string]int64) []string { return slices.Sorted(maps.Keys(m)) }
