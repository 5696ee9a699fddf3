package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/vbauerster/cupwriter"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// Metrics are the latency metrics whose rolling p99 the display shows: a
// worker of `run --procs` sends their interval histograms to its parent's
// display (procs.NewStatusWriter).
var Metrics = []string{scenario.TelemetryPuback, scenario.SOSDelivered, scenario.HTTPMe}

const (
	// ciLineEvery is how often a non-terminal prints its status line.
	ciLineEvery = 10 * time.Second
	// ttyWindow and ciWindow are the rolling windows of the rates and p99s:
	// short on a terminal (live), one line's worth in CI.
	ttyWindow = 5
	ciWindow  = 10
)

// Sink is what a Display is to a run: the engine's Progress
// (engine.Options.Progress, procs.Config.Progress).
type Sink interface {
	metrics.IntervalSink
	Update(fleet.Status, metrics.Point)
}

// Display shows a run's live state on its writer (stderr): mpb bars on a
// terminal, a compact line every ciLineEvery otherwise, nothing when off.
// WriteInterval and Update are called from one goroutine (the engine's
// ticker, or procs.Run's); the mpb decorators read under mu. Warn and
// Println are shown whatever the mode.
type Display struct {
	mode  mode
	w     io.Writer
	users int // most users any stage (or step) wants: the bar's full length

	mu       sync.Mutex
	windows  map[string]*hdr.WindowedHistogram // per live metric, one slot per interval
	recent   []metrics.Point                   // the last window's points, oldest first
	size     int                               // window length in intervals
	status   fleet.Status
	last     liveView
	lastLine float64 // T of the last CI line

	bars    *mpb.Progress
	userBar *mpb.Bar
	others  []*mpb.Bar

	linesMu sync.Mutex
	pending []string // Println's lines, queued for the bars
}

type mode int

const (
	modeOff mode = iota
	modeLines
	modeBars
)

// liveView is what one refresh shows.
type liveView struct {
	T          float64
	Telemetry  float64 // per second
	SOS        float64
	Errors     float64
	P99        map[string]time.Duration
	HaveWindow bool
}

// New picks the display: nothing live when off (--quiet, --no-progress),
// bars if w is a terminal, lines otherwise. users is the most users the
// run wants online at once (the largest stage target, or a search's
// ceiling): the bar's full length.
func New(w io.Writer, off bool, users int) *Display {
	p := &Display{w: w, users: max(users, 1), windows: map[string]*hdr.WindowedHistogram{}}
	switch {
	case off:
		p.mode = modeOff
		return p
	case cupwriter.New(w, false).IsTerminal():
		p.mode, p.size = modeBars, ttyWindow
	default:
		p.mode, p.size = modeLines, ciWindow
	}
	for _, m := range Metrics {
		// 2 significant digits are plenty to watch; 10x smaller than 3.
		p.windows[m] = hdr.NewWindowed(p.size, 1, int64(time.Hour/time.Microsecond), 2)
	}
	return p
}

// Sink is p as a run's progress sink, or nil when p shows nothing live.
func (p *Display) Sink() Sink {
	if p.mode == modeOff {
		return nil
	}
	return p
}

var _ Sink = (*Display)(nil)

// WriteInterval implements metrics.IntervalSink: the live metrics'
// intervals feed the rolling windows.
func (p *Display) WriteInterval(metric string, h *hdr.Histogram) error {
	p.mu.Lock()
	if w, ok := p.windows[metric]; ok {
		w.Current.Merge(h)
	}
	p.mu.Unlock()
	return nil
}

// Update takes the state after one interval: the fleet status and the
// collector's last point. It closes the interval in the rolling windows,
// then prints the lines Println queued.
func (p *Display) Update(st fleet.Status, pt metrics.Point) {
	if p.mode == modeOff {
		return
	}
	p.mu.Lock()
	p.status = st
	p.recent = append(p.recent, pt)
	if len(p.recent) > p.size {
		p.recent = p.recent[len(p.recent)-p.size:]
	}
	v := liveView{T: pt.T, P99: map[string]time.Duration{}, HaveWindow: true}
	var seconds float64
	var tel, sos, errs int64
	for _, r := range p.recent {
		seconds += r.Seconds
		tel += r.Latencies[scenario.TelemetryPuback].Count
		sos += r.Latencies[scenario.SOSPuback].Count
		for _, l := range r.Latencies {
			errs += l.Errors
		}
	}
	if seconds > 0 {
		v.Telemetry, v.SOS, v.Errors = float64(tel)/seconds, float64(sos)/seconds, float64(errs)/seconds
	}
	for name, w := range p.windows {
		if m := w.Merge(); m.TotalCount() > 0 {
			v.P99[name] = metrics.ValueAt(m, 99)
		}
		w.Rotate()
	}
	p.last = v
	printLine := p.mode == modeLines && pt.T-p.lastLine >= ciLineEvery.Seconds()-0.5
	if printLine {
		p.lastLine = pt.T
	}
	p.mu.Unlock()

	switch {
	case printLine:
		fmt.Fprintln(p.w, statusLine(st, v, time.Now()))
	case p.mode == modeBars:
		if p.bars == nil {
			p.startBars(mpb.WithOutput(p.w))
		}
		p.userBar.SetCurrent(st.Online)
	}
	p.linesMu.Lock()
	lines := p.pending
	p.pending = nil
	p.linesMu.Unlock()
	for _, s := range lines {
		p.above(s)
	}
}

// Println shows one line (a worker's output, a search's step) from any
// goroutine: on a terminal queued and printed above the bars at the next
// Update, which the bars need (or at Close); otherwise at once.
func (p *Display) Println(line string) {
	text := line + "\n"
	p.linesMu.Lock()
	defer p.linesMu.Unlock()
	if p.mode == modeBars {
		p.pending = append(p.pending, text)
		return
	}
	_, _ = io.WriteString(p.w, text)
}

// Close stops the display; the bars stay on screen as they last were, and
// the lines still queued follow them. Call it once no Update can come any
// more; it may be called again.
func (p *Display) Close() {
	if p.bars != nil {
		p.userBar.Abort(false)
		for _, b := range p.others {
			b.Abort(false)
		}
		p.bars.Wait()
		p.bars = nil
	}
	p.linesMu.Lock()
	defer p.linesMu.Unlock()
	for _, l := range p.pending {
		_, _ = io.WriteString(p.w, l)
	}
	p.pending = nil
}

// startBars builds the three rows of the terminal display (on the first
// Update, so a run that fails to start leaves no bar behind):
//
//	steady (2/3) 14s left  [=========>------]  195/200 users
//	telemetry 104.2/s · SOS 0.7/s · errors 0.0/s
//	p99 last 5s: telemetry.puback 3.2ms · sos.delivered 4.1ms · http.me 910µs
func (p *Display) startBars(opts ...mpb.ContainerOption) {
	opts = append(opts, mpb.WithRefreshRate(250*time.Millisecond), mpb.WithWidth(36))
	p.bars = mpb.New(opts...)
	text := func(f func(fleet.Status, liveView) string) decor.Decorator {
		return decor.Any(func(decor.Statistics) string {
			p.mu.Lock()
			defer p.mu.Unlock()
			return f(p.status, p.last)
		})
	}
	// Built with total 0 and then given its total, the bar never completes
	// by itself: users come and go, and a full bar must be able to empty.
	p.userBar = p.bars.New(0, mpb.BarStyle().Lbound("[").Rbound("]"),
		mpb.PrependDecorators(text(func(st fleet.Status, _ liveView) string {
			return fmt.Sprintf("%-30s", stageText(st, time.Now()))
		})),
		mpb.AppendDecorators(text(func(st fleet.Status, _ liveView) string {
			return fmt.Sprintf(" %d online, target %d", st.Online, st.Target)
		})),
	)
	rates := p.bars.New(0, mpb.NopStyle(), mpb.PrependDecorators(text(func(_ fleet.Status, v liveView) string {
		return rateText(v)
	})))
	p99 := p.bars.New(0, mpb.NopStyle(), mpb.PrependDecorators(text(func(_ fleet.Status, v liveView) string {
		return fmt.Sprintf("p99 last %ds: %s", p.size, p99Text(v))
	})))
	p.userBar.SetTotal(int64(p.users), false)
	p.others = []*mpb.Bar{rates, p99}
}

// stageText is "steady (2/3) 14s left", or "starting" before the first
// stage.
func stageText(st fleet.Status, now time.Time) string {
	if st.Stage == "" {
		return "starting"
	}
	left := max(st.StageEnd.Sub(now), 0).Round(time.Second)
	return fmt.Sprintf("%s (stage %d) %v left", st.Stage, st.StageIndex+1, left)
}

func rateText(v liveView) string {
	if !v.HaveWindow {
		return "waiting for the first interval"
	}
	return fmt.Sprintf("telemetry %.1f/s · SOS %.1f/s · errors %.1f/s", v.Telemetry, v.SOS, v.Errors)
}

func p99Text(v liveView) string {
	var parts []string
	for _, m := range Metrics {
		if d, ok := v.P99[m]; ok {
			parts = append(parts, fmt.Sprintf("%s %v", m, roundDuration(d)))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " · ")
}

// roundDuration keeps 2 significant digits, the precision of the live
// windows: 910µs, 3.2ms, 1.2s.
func roundDuration(d time.Duration) time.Duration {
	for unit := time.Microsecond; unit <= time.Hour; unit *= 10 {
		if d < 100*unit {
			return d.Round(unit)
		}
	}
	return d
}

// statusLine is the compact line printed every ciLineEvery when stderr is
// not a terminal.
func statusLine(st fleet.Status, v liveView, now time.Time) string {
	return fmt.Sprintf("[%5.0fs] %s: %d/%d users online, %s, p99 %s",
		v.T, stageText(st, now), st.Online, st.Target, rateText(v), p99Text(v))
}

// Warn prints one warning line: above the bars on a terminal, else on a
// line of its own. It is shown when the display is off too: a warning is a
// problem. Call it from the goroutine that calls Update (or before the
// first Update), as the engine calls Options.Warn.
func (p *Display) Warn(msg string) {
	p.above("eixamsim: warning: " + msg + "\n")
}

// above writes text above the bars, or to the writer when there are none;
// from the goroutine that calls Update.
func (p *Display) above(text string) {
	if p.bars != nil {
		if _, err := p.bars.Write([]byte(text)); err == nil {
			return
		}
	}
	_, _ = io.WriteString(p.w, text)
}
