package refbackend

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/faults"
)

// faultControlPrefix starts the runtime fault controls (Config.FaultControl).
const faultControlPrefix = "/debug/faults/"

// faultControls maps a control name (the path after faultControlPrefix) to
// its handler. Every control is POST only and answers JSON.
//
//	stop-mqtt                  StopMQTT                     {"listening":false}
//	start-mqtt                 StartMQTT                    {"listening":true}
//	restart-mqtt?down=5s       StopMQTT, StartMQTT after 5s {"listening":false,"restart_in":"5s"}
//	kick?fraction=0.25 (25%25) Kick                         {"kicked":N}
//	stall?d=3s (0 ends it)     StallHTTP                    {"stalled_until":"…"|null}
//	schedule, body one ParseScheduledFault text per line, run from now
//	                                                        {"scheduled":N}
var faultControls = map[string]func(a *api, w http.ResponseWriter, r *http.Request){
	"stop-mqtt":    (*api).controlStopMQTT,
	"start-mqtt":   (*api).controlStartMQTT,
	"restart-mqtt": (*api).controlRestartMQTT,
	"kick":         (*api).controlKick,
	"stall":        (*api).controlStall,
	"schedule":     (*api).controlSchedule,
}

// serveFaultControl serves POST /debug/faults/<name>: 404 for an unknown
// name, 405 for another method, 400 for a bad parameter, 409 when there is
// no MQTT listener, 503 when the server is closing.
func (a *api) serveFaultControl(w http.ResponseWriter, r *http.Request, name string) {
	control, ok := faultControls[name]
	if !ok {
		a.s.stats.httpUnrouted.add(http.StatusNotFound)
		writeError(w, http.StatusNotFound, "no such fault control: "+name)
		return
	}
	if r.Method != http.MethodPost {
		a.s.stats.httpUnrouted.add(http.StatusMethodNotAllowed)
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+faultControlPrefix+name)
		return
	}
	control(a, w, r)
}

func (a *api) controlStopMQTT(w http.ResponseWriter, _ *http.Request) {
	if err := a.s.StopMQTT(); err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"listening": false})
}

func (a *api) controlStartMQTT(w http.ResponseWriter, _ *http.Request) {
	if err := a.s.StartMQTT(); err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"listening": true})
}

// controlRestartMQTT closes the listeners now and re-opens them after
// ?down=, through a run so that Close ends the wait.
func (a *api) controlRestartMQTT(w http.ResponseWriter, r *http.Request) {
	down, err := time.ParseDuration(r.URL.Query().Get("down"))
	if err != nil || down < 0 {
		writeError(w, http.StatusBadRequest, "want ?down=DURATION (>= 0), e.g. ?down=5s")
		return
	}
	if err := a.s.StopMQTT(); err != nil {
		writeControlError(w, err)
		return
	}
	down0 := true
	restore := faultStep{
		at:      time.Now().Add(down),
		fault:   faults.ScheduledFault{Action: faults.RestartMQTT, Duration: down},
		restore: true,
		down:    &down0,
		do:      a.s.StartMQTT,
	}
	if _, err := a.s.startRun([]faultStep{restore}); err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"listening": false, "restart_in": down.String()})
}

func (a *api) controlKick(w http.ResponseWriter, r *http.Request) {
	fraction, err := faults.ParseFraction(r.URL.Query().Get("fraction"))
	if err != nil || !(fraction >= 0 && fraction <= 1) {
		writeError(w, http.StatusBadRequest, "want ?fraction= in 0..1 or 0%..100%, e.g. ?fraction=0.25")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"kicked": a.s.Kick(fraction)})
}

func (a *api) controlStall(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.URL.Query().Get("d"))
	if err != nil || d < 0 {
		writeError(w, http.StatusBadRequest, "want ?d=DURATION (>= 0; 0 ends a stall), e.g. ?d=3s")
		return
	}
	var until *time.Time
	if end := a.s.StallHTTP(d); !end.IsZero() {
		until = &end
	}
	writeJSON(w, http.StatusOK, map[string]any{"stalled_until": until})
}

// controlSchedule runs the faults of the body (one ParseScheduledFault
// text per line; blank lines and lines starting with # are skipped) from
// now.
func (a *api) controlSchedule(w http.ResponseWriter, r *http.Request) {
	body, apiErr := readBody(w, r, a.s.cfg.MaxBodyBytes)
	if apiErr != nil {
		apiErr.write(w)
		return
	}
	var sched []faults.ScheduledFault
	var problems []string
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f, err := faults.ParseScheduledFault(line)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		sched = append(sched, f)
	}
	if len(problems) > 0 {
		writeError(w, http.StatusBadRequest, strings.Join(problems, "; "))
		return
	}
	if len(sched) == 0 {
		writeError(w, http.StatusBadRequest, "empty schedule: send one fault per line, e.g. kick@0s:25%")
		return
	}
	if _, err := a.s.RunSchedule(time.Now(), sched); err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"scheduled": len(sched)})
}

// writeControlError answers an error of a fault control.
func writeControlError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrInvalidSchedule):
		status = http.StatusBadRequest
	case errors.Is(err, ErrNoMQTT):
		status = http.StatusConflict
	case errors.Is(err, ErrClosed):
		status = http.StatusServiceUnavailable
	}
	writeError(w, status, err.Error())
}
