package scenario

import (
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Event is an incident (an item of events): at At from the run's start, a
// share of the users online then leaves at once, the How way, and each
// comes back at a time drawn uniformly from Back, counted from the event.
type Event struct {
	Name  string
	At    time.Duration
	Leave float64 // share of the online users, 0 < Leave <= 1
	How   string  // LeaveClean, LeaveKilled or LeaveVanished
	Back  Span    // a range (Min..Max; a single duration: Min = Max), from the event
}

// EventHows are the leave modes an event may use: a roam is no absence.
var EventHows = []string{LeaveClean, LeaveKilled, LeaveVanished}

// EventRecovery is the latency metric of an event's recovery: the event
// -> each affected user online again.
func EventRecovery(name string) string { return eventPrefix + name + eventRecoverySuffix }

const (
	eventPrefix         = "event."
	eventRecoverySuffix = ".recovery"
)

// EventOfMetric returns the event a metric name is the recovery of.
func EventOfMetric(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, eventPrefix)
	if !ok {
		return "", false
	}
	ev, ok := strings.CutSuffix(rest, eventRecoverySuffix)
	return ev, ok && ev != ""
}

// eventRecoveryMetric is the catalogue entry of an event's recovery.
func eventRecoveryMetric(name string) Metric {
	return Metric{Name: name, Kind: KindLatency, Unit: "duration",
		Description: "events: the event -> each affected user online again (subscribed); error never_back for one still away at the end of the run"}
}

// MarshalJSON implements json.Marshaler.
func (e Event) MarshalJSON() ([]byte, error) { return eventKeys.marshal(&e) }

// eventKeys are the keys of one event (an item of events).
var eventKeys = keys[Event]{
	{name: "name", shape: shapeString, doc: "unique label for reports and thresholds (event.<name>.recovery), [A-Za-z0-9._-]+ (required)",
		decode: readStr(func(e *Event, s string) { e.Name = s }),
		check: func(v *validator, p string, e *Event) {
			if e.Name == "" && !v.written(p) {
				v.errorf(p, "required: a name for reports and thresholds, e.g. tower-down")
				return
			}
			v.checkName(p, e.Name)
		},
		echo: always(func(e *Event) any { return e.Name })},
	{name: "at", shape: shapeDuration, doc: "when the event happens, from the run's start (required)",
		decode: readDuration(func(e *Event, d time.Duration) { e.At = d }),
		check: func(v *validator, p string, e *Event) {
			run := v.s.Duration()
			switch {
			case e.At == 0 && !v.written(p):
				v.errorf(p, "required: when the event happens, from the run's start, e.g. 5m")
			case e.At < 0:
				v.errorf(p, "must be >= 0, got %s", e.At)
			case e.At >= run && v.stagesOK():
				v.errorf(p, "must be before the run ends (%s), got %s", dur(run), dur(e.At))
			}
		},
		echo: always(func(e *Event) any { return dur(e.At) })},
	{name: "leave", shape: shapePercent, doc: "share of the users online at the event that leave, 0% < share <= 100% (required)",
		decode: func(d *decoder, n *yaml.Node, p string, e *Event) bool {
			if f := parsed(d, n, p, wantPercent, parseAnyPercent); f != nil {
				e.Leave = *f
				return true
			}
			return false
		},
		check: func(v *validator, p string, e *Event) {
			switch {
			case e.Leave == 0 && !v.written(p):
				v.errorf(p, "required: the share of the online users that leave, e.g. 30%%")
			case !(e.Leave > 0 && e.Leave <= 1):
				v.errorf(p, "must be more than 0%% and at most 100%%, got %s", formatPercent(e.Leave))
			}
		},
		echo: always(func(e *Event) any { return formatPercent(e.Leave) })},
	{name: "how", shape: "clean | killed | vanished", doc: "how they leave, as fleet.churn's leave modes (default vanished)",
		decode: readStr(func(e *Event, s string) { e.How = s }),
		def:    func(e *Event) { e.How = LeaveVanished },
		check: func(v *validator, p string, e *Event) {
			switch {
			case e.How == LeaveRoam:
				v.errorf(p, "roam is no absence (the phone reconnects at once): use clean, killed or vanished")
			case !slices.Contains(EventHows, e.How):
				v.errorf(p, "%s", unknownMsg("how", e.How, true, EventHows))
			}
		},
		echo: always(func(e *Event) any { return e.How })},
	{name: "back", shape: shapeSpan, doc: "when each comes back, from the event: a range lo..hi drawn uniformly, or one duration for all (required)",
		decode: readDurRangeOr(func(e *Event, lo, hi time.Duration, _ bool) { e.Back = Span{Min: lo, Max: hi} }),
		check: func(v *validator, p string, e *Event) {
			b := e.Back
			run := v.s.Duration()
			switch {
			case b == Span{} && !v.written(p):
				v.errorf(p, "required: when the users come back, from the event, e.g. 20s..90s")
			case b.Min < 0:
				v.errorf(p, "must not be negative, got %s", spanString(b))
			case b.Min > b.Max:
				v.errorf(p, "a range lo..hi needs lo <= hi, got %s", spanString(b))
			case e.At >= 0 && e.At < run && e.At+b.Max > run && v.stagesOK() && v.ok(parentPath(p)+".at"):
				v.errorf(p, "ends after the run: the event at %s plus %s is past the run's end (%s); every user must be able to come back in the run", dur(e.At), dur(b.Max), dur(run))
			}
		},
		echo: always(func(e *Event) any { return e.Back })},
}

// readEvents reads the events list.
func (d *decoder) readEvents(n *yaml.Node, path string) []Event {
	events := []Event{}
	d.items(n, path, "a list of events like { name: tower-down, at: 5m, leave: 30%, how: vanished, back: 20s..90s }", func(_ int, v *yaml.Node, p string) {
		var e Event
		eventKeys.read(d, v, p, &e)
		events = append(events, e)
	})
	return events
}

// checkEvents checks each event and that their names are unique.
func checkEvents(v *validator, p string, s *Scenario) {
	names := map[string]int{}
	for i := range s.Events {
		e := &s.Events[i]
		ep := index(p, i)
		eventKeys.check(v, ep, e)
		if first, dup := names[e.Name]; dup && e.Name != "" {
			v.errorf(ep+".name", "%q is also the name of events[%d]", e.Name, first)
		}
		names[e.Name] = i
	}
}

// eventNames lists the scenario's event names.
func (s *Scenario) eventNames() []string {
	var out []string
	for _, e := range s.Events {
		out = append(out, e.Name)
	}
	return out
}

// checkMetricEvent checks that an event.<name>.recovery metric names one
// of the scenario's events.
func (v *validator) checkMetricEvent(path, event string) {
	if !slices.Contains(v.s.eventNames(), event) {
		v.keyErrorf(path, "%s", unknownMsg("event", event, true, v.s.eventNames()))
	}
}
