package report

import (
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/metrics"
)

// TestEventsShown: an incident is a red line on the users-online and
// latency charts, a row of the events table and a line of summary.txt.
func TestEventsShown(t *testing.T) {
	run := makeRun(t)
	at, p50, p100 := 2.0, 0.5, 1.5
	run.sum.Events = []metrics.Event{{Name: "tower-down", At: run.sum.Start.Add(2 * time.Second), AtS: &at, Affected: 10, Back: 9, NeverBack: 1,
		Recovery: map[string]*float64{"50": &p50, "90": &p100, "99": nil, "100": nil}, Window: 3, LoginsPerS: 3.3,
		ErrorsBy: map[string]int64{"http_503": 2}, TelemetryUnsent: 40, SOSNotRaised: 1.25}}
	pg, err := buildPage(run.sum, run.hs)
	if err != nil {
		t.Fatal(err)
	}
	const red = "stroke:#C0392B"
	for _, c := range append(pg.Timeline[:1:1], pg.Latency...) {
		if !strings.Contains(string(c.SVG), red) || !strings.Contains(c.Caption, "Red lines: events tower-down at 2s.") {
			t.Errorf("chart %s does not mark the event (caption %q)", c.ID, c.Caption)
		}
	}
	for _, c := range pg.Timeline[1:] {
		if strings.Contains(string(c.SVG), red) {
			t.Errorf("chart %s marks the event; only users online and the latencies do", c.ID)
		}
	}
	if len(pg.Events) != 1 || strings.Join(pg.Events[0].Recovery, " ") != "500ms 1.5s never never" || pg.Events[0].Errors != "http_503=2" {
		t.Errorf("events table %+v", pg.Events)
	}
	var b strings.Builder
	if err := WriteText(&b, run.sum); err != nil {
		t.Fatal(err)
	}
	want := "tower-down at 2s: 10 users left, 9 back, 1 never back; back online: 50% 500ms, 90% 1.5s, 99% never, 100% never; during the 3s recovery 3.3 logins/s, 0.0 reconnect attempts/s, errors 2 (http_503=2); telemetry due while away 40, SOS not raised 1.2"
	if !strings.Contains(b.String(), want) {
		t.Errorf("summary.txt lacks\n%s\n%s", want, b.String())
	}
}
