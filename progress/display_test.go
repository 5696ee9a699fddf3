package progress

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

func TestProgressLinesEveryTenSeconds(t *testing.T) {
	var buf bytes.Buffer
	p := New(&buf, false, 20)
	if p.mode != modeLines {
		t.Fatalf("mode %v for a buffer, want lines", p.mode)
	}
	reg := metrics.NewRegistry()
	start := time.Now()
	c := metrics.NewCollector(reg, start, p.Sink())
	tel := reg.Latency(scenario.TelemetryPuback)
	for sec := 1; sec <= 25; sec++ {
		for i := 0; i < 10; i++ {
			tel.Record(time.Duration(sec) * time.Millisecond)
		}
		reg.Latency(scenario.HTTPMe).Error("timeout")
		c.Tick(start.Add(time.Duration(sec) * time.Second))
		st := fleet.Status{Stage: "steady", StageIndex: 1, StageEnd: time.Now().Add(time.Minute), Target: 20, Online: 19}
		p.Update(st, c.Last())
	}
	p.Close()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines in 25 s, want 2 (at 10 s and 20 s):\n%s", len(lines), buf.String())
	}
	// At 20 s the window holds seconds 11..20: 10 telemetry/s, 1 error/s,
	// p99 = 20 ms (to the window's 2 significant digits).
	want := regexp.MustCompile(`^\[ +20s\] steady \(stage 2\) (59s|1m0s) left: 19/20 users online, telemetry 10\.0/s · SOS 0\.0/s · errors 1\.0/s, p99 telemetry\.puback 20ms$`)
	if !want.MatchString(lines[1]) {
		t.Errorf("line = %q", lines[1])
	}
}

func TestProgressOff(t *testing.T) {
	var buf bytes.Buffer
	p := New(&buf, true, 20)
	if s := p.Sink(); s != nil {
		t.Error("the run gets a progress sink although the display is off")
	}
	p.Update(fleet.Status{}, metrics.Point{T: 10, Seconds: 1})
	p.Close()
	if buf.Len() != 0 {
		t.Errorf("printed %q", buf.String())
	}
}

func TestStatusTexts(t *testing.T) {
	now := time.Now()
	if got := stageText(fleet.Status{}, now); got != "starting" {
		t.Errorf("stageText before start = %q", got)
	}
	if got := stageText(fleet.Status{Stage: "ramp", StageIndex: 0, StageEnd: now.Add(1400 * time.Millisecond)}, now); got != "ramp (stage 1) 1s left" {
		t.Errorf("stageText = %q", got)
	}
	v := liveView{P99: map[string]time.Duration{"http.me": 912345 * time.Nanosecond, "sos.delivered": 1234567 * time.Microsecond}}
	if got := p99Text(v); got != "sos.delivered 1.2s · http.me 910µs" {
		t.Errorf("p99Text = %q", got)
	}
	if got := p99Text(liveView{}); got != "-" {
		t.Errorf("p99Text(empty) = %q", got)
	}
}

// TestPrintln shows a line at once without bars, and with bars only
// above them, from the goroutine that drives them: at the next Update, or
// at Close for what is left.
func TestPrintln(t *testing.T) {
	for _, off := range []bool{true, false} {
		var buf bytes.Buffer
		p := New(&buf, off, 20)
		p.Println("[worker 1] hello")
		p.Warn("late")
		if got := buf.String(); got != "[worker 1] hello\neixamsim: warning: late\n" {
			t.Errorf("off %v: printed %q, want the line and the warning at once", off, got)
		}
		p.Close()
	}

	var buf bytes.Buffer // read once the bars are done
	p := New(&buf, false, 20)
	p.mode, p.size = modeBars, ttyWindow
	p.startBars(mpb.WithOutput(&buf), mpb.WithAutoRefresh()) // as on a terminal
	p.Println("[worker 0] first")
	p.linesMu.Lock()
	queued := len(p.pending)
	p.linesMu.Unlock()
	if queued != 1 {
		t.Fatalf("%d lines queued, want the line kept for the bars' goroutine", queued)
	}
	p.Update(fleet.Status{Stage: "steady", Target: 20, Online: 3}, metrics.Point{T: 1, Seconds: 1})
	p.Println("[worker 0] last")
	p.Close()
	out := buf.String()
	first, last := strings.Index(out, "[worker 0] first\n"), strings.Index(out, "[worker 0] last\n")
	if first < 0 || last < first {
		t.Errorf("with bars: %q, want both lines, in order", out)
	}
}
