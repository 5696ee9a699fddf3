package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/internal/testnet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

func TestRunPasses(t *testing.T) {
	t.Parallel()
	sc, out := load(t, header+`name: pass
duration: 3s
thresholds:
  user.login: ["count >= 20", "errors <= 0%", "p(99) < 5s"]
  http.me: ["p(95) < 2s", "rate > 1/s"]
  mqtt.disconnects: ["count <= 0"]
  users.online: ["max >= 20"]
`)
	res, _, err := run(t, context.Background(), sc)
	if err != nil {
		t.Fatalf("outcome %v: %v", outcome.Of(err), err)
	}
	s := res.Summary
	if res.Dir != out || s.EndReason != report.EndCompleted || len(s.Thresholds) != 7 {
		t.Fatalf("dir %s, end_reason %q, %d verdicts", res.Dir, s.EndReason, len(s.Thresholds))
	}
	units := []report.Unit{report.UnitCount, report.UnitFraction, report.UnitMs, report.UnitMs, report.UnitPerS, report.UnitCount, report.UnitCount}
	for i, v := range s.Thresholds {
		if !v.Passed || v.Unit != units[i] {
			t.Errorf("verdict %d: %+v, want passed in %s", i, v, units[i])
		}
	}
}

func TestRunThresholdFailure(t *testing.T) {
	t.Parallel()
	// Every HTTP answer takes 100 ms more, so GET /v1/sdk/me cannot be
	// faster than 50 ms.
	sc, _ := load(t, header+`name: slow
duration: 3s
target: { embedded: { http_latency: 100ms } }
thresholds:
  user.login: ["count >= 20"]
  http.me: ["p(95) < 50ms"]
`)
	res, _, err := run(t, context.Background(), sc)
	if outcome.Of(err) != outcome.ThresholdsFailed || !strings.Contains(err.Error(), "1 of 2 thresholds failed: http.me: p(95) < 50ms (observed ") {
		t.Fatalf("outcome %v: %v", outcome.Of(err), err)
	}
	v := res.Summary.Thresholds[1]
	if v.Passed || v.Unit != report.UnitMs || v.Value < 100 || v.Line != 10 {
		t.Errorf("verdict = %+v; want failed, observed >= 100 ms, line 10", v)
	}
}

func TestRunAbortOnFail(t *testing.T) {
	t.Parallel()
	// A minute-long run whose http.me budget cannot hold: abort_on_fail
	// must stop it at the first check after the first samples.
	sc, _ := load(t, header+`name: abort
duration: 60s
target: { embedded: { http_latency: 100ms } }
thresholds:
  user.login: ["count > 1000"]
  http.me: ["p(95) < 50ms"]
  abort_on_fail: [http.me]
`)
	began := time.Now()
	res, _, err := run(t, context.Background(), sc)
	var abort *AbortError
	if outcome.Of(err) != outcome.Aborted || !errors.As(err, &abort) || abort.Verdict.Metric != scenario.HTTPMe {
		t.Fatalf("outcome %v: %v", outcome.Of(err), err)
	}
	if took := time.Since(began); took > 20*time.Second {
		t.Errorf("the aborted run took %v of its 60 s", took)
	}
	if !strings.HasPrefix(err.Error(), "aborted by abort_on_fail after ") || !strings.Contains(err.Error(), "http.me: p(95) < 50ms (observed ") {
		t.Errorf("error = %q", err)
	}
	s := res.Summary
	if s.EndReason != report.EndAborted || len(s.Notes) != 1 || s.Notes[0] != err.Error() {
		t.Errorf("end_reason %q, notes %q", s.EndReason, s.Notes)
	}
	if len(s.Thresholds) != 2 || s.Thresholds[0].Passed || s.Thresholds[1].Passed || !strings.Contains(s.Thresholds[1].Note, "aborted the run") {
		t.Errorf("verdicts = %+v", s.Thresholds)
	}
}

func TestRunInterrupted(t *testing.T) {
	t.Parallel()
	sc, _ := load(t, header+`name: long
duration: 60s
thresholds:
  user.login: ["count >= 20"]
`)
	ctx, cancel := context.WithCancelCause(context.Background())
	interrupted := errors.New("interrupted")
	time.AfterFunc(1500*time.Millisecond, func() { cancel(interrupted) })
	res, _, err := run(t, ctx, sc)
	if outcome.Of(err) != outcome.Interrupted || !errors.Is(err, interrupted) {
		t.Fatalf("outcome %v: %v", outcome.Of(err), err)
	}
	s := res.Summary
	if s.EndReason != report.EndInterrupted || s.Seconds > 30 || s.Metrics[scenario.UserLogin].Count == 0 || len(s.Thresholds) != 1 {
		t.Errorf("end_reason %q after %.1f s, %d logins, %d verdicts", s.EndReason, s.Seconds, s.Metrics[scenario.UserLogin].Count, len(s.Thresholds))
	}
	page, err := os.ReadFile(filepath.Join(res.Dir, report.ReportHTMLFile))
	if err != nil || !strings.Contains(string(page), "INTERRUPTED") {
		t.Errorf("report.html: %v", err)
	}
}

func TestRunUnreachable(t *testing.T) {
	t.Parallel()
	addr := testnet.RefusedAddr(t) // refuses for the whole test, unlike a freed port
	sc, out := load(t, header+`name: gone
duration: 3s
target: { http: "http://`+addr+`", mqtt: "tcp://`+addr+`" }
`)
	res, _, err := run(t, context.Background(), sc)
	if outcome.Of(err) != outcome.Unreachable || res != nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("outcome %v, result %v: %v", outcome.Of(err), res, err)
	}
	if strings.Contains(err.Error(), "e2e-secret") {
		t.Error("the error shows the secret")
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("results written for a run that never started: %v", err)
	}
}

// TestRunWrongSecret points a run with the wrong app secret at a backend:
// nothing can log in, and the error says what to check.
func TestRunWrongSecret(t *testing.T) {
	t.Parallel()
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		MQTTAddr: "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:0",
		Apps:     map[string][]byte{"demo-app": []byte("the-real-secret")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sc, _ := load(t, `version: 1
name: wrong
duration: 2s
target: { http: "`+srv.HTTPURL()+`", mqtt: "`+srv.MQTTURL()+`" }
identity: { app_id: demo-app, app_secret: not-the-secret }
fleet: { users: 5 }
`)
	res, _, err := run(t, context.Background(), sc)
	if outcome.Of(err) != outcome.Unreachable || res == nil {
		t.Fatalf("outcome %v: %v", outcome.Of(err), err)
	}
	if want := "no user could log in and connect; errors: http.me http_401="; !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not the one-line reason %q: %v", want, err)
	}
	var e *outcome.Error
	if !errors.As(err, &e) || len(e.Hints) != 1 || !strings.Contains(e.Hints[0], "identity.app_secret") {
		t.Errorf("hints %q; want one naming identity.app_secret", e.Hints)
	}
	if !res.Summary.NothingMeasured() {
		t.Error("the summary of a run nobody connected in does not say nothing was measured")
	}
	if _, err := os.Stat(filepath.Join(res.Dir, report.SummaryJSONFile)); err != nil {
		t.Errorf("no summary.json after a run that measured nothing: %v", err)
	}
}

func TestRunStartedErrorStopsBeforeTraffic(t *testing.T) {
	t.Parallel()
	sc, _ := load(t, header+"name: hook\nduration: 30s\n")
	refused := errors.New("no endpoint")
	began := time.Now()
	res, err := Run(context.Background(), sc, Options{Started: func(Live) error { return refused }})
	if res != nil || err != refused {
		t.Fatalf("Run = %v, %v; want the hook's error as is", res, err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("took %v", took)
	}
}

// metricsWithErrors is the measurements of a run in which metric failed n
// times and never succeeded.
func metricsWithErrors(metric string, n int) metrics.Measurements {
	reg := metrics.NewRegistry()
	for range n {
		reg.Latency(metric).Error("http_503")
	}
	return metrics.NewCollector(reg, time.Now(), nil).Measure(time.Second, nil)
}

// TestEndReasonAndCheckAbort covers the abort watch without a run.
func TestEndReasonAndCheckAbort(t *testing.T) {
	rule := func(src string) scenario.Rule {
		r, err := scenario.ParseRule(scenario.KindLatency, src)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	th := scenario.Thresholds{
		Metrics:     []scenario.MetricRules{{Metric: scenario.HTTPMe, Rules: []scenario.Rule{rule("count > 5"), rule("errors < 10%")}}},
		AbortOnFail: []string{scenario.HTTPMe},
		AbortGrace:  5 * time.Second,
	}
	m := metricsWithErrors(scenario.HTTPMe, 2) // 2 errors, no success: errors 100 %
	if e := checkAbort(th, metrics.Measured{Run: m}, "", nil, 4*time.Second); e != nil {
		t.Errorf("aborted during the grace: %v", e)
	}
	e := checkAbort(th, metrics.Measured{Run: m}, "", nil, 6*time.Second)
	if e == nil || e.Verdict.Rule.Source != "errors < 10%" {
		t.Fatalf("checkAbort = %v; want the errors rule", e)
	}
	if got := e.Error(); got != "aborted by abort_on_fail after 6s: http.me: errors < 10% (observed 100%)" {
		t.Errorf("Error() = %q", got)
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	if got := endReason(ctx, fleet.Result{Completed: true}); got != report.EndCompleted {
		t.Errorf("endReason = %q", got)
	}
	cancel(e)
	if got := endReason(ctx, fleet.Result{Completed: false}); got != report.EndAborted {
		t.Errorf("endReason = %q", got)
	}
	ctx2, cancel2 := context.WithCancelCause(context.Background())
	cancel2(errors.New("interrupted"))
	if got := endReason(ctx2, fleet.Result{Completed: false}); got != report.EndInterrupted {
		t.Errorf("endReason = %q", got)
	}
}
