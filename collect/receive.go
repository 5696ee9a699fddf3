package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eixamsim/eixamsim/report"
)

// LateGrace is how long a Receiver waits for the other shards once one
// has sent the results of a run that went to its end: the shards of one
// run start together and run as long, so the others end within seconds;
// one still missing after this died or lost its network.
const LateGrace = 2 * time.Minute

// waitingEvery is how often Wait says which shards it still waits for.
const waitingEvery = time.Minute

// maxFailureBytes bounds a failure report's body.
const maxFailureBytes = 4 << 10

// Receiver keeps the result directories one run's shards send: shard i
// of n goes to Dir/run-shard-<i>-of-<n> (the layout of `run --procs`). Its
// Handler serves the protocol (doc.go); Wait returns when every shard has
// reported or the time is up.
type Receiver struct {
	runID string
	count int
	dir   string
	logf  func(format string, args ...any)

	mu      sync.Mutex
	reports map[int]Report
	closed  bool
	arrived chan struct{} // a report came in (capacity 1: a flag)
}

// Report is what one shard sent.
type Report struct {
	Index int
	// Dir is the shard's result directory; "" for a shard that sent a
	// failure instead.
	Dir string
	// EndReason is the shard's end_reason (completed, aborted,
	// interrupted); "" with a failure.
	EndReason report.EndReason
	// Failure is a shard's exit code and error when it had no results.
	Failure *Failure
}

// Failure is a shard's word that it ended without results.
type Failure struct {
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error"`
}

// NewReceiver collects shards 0..count-1 of run runID into dir (created
// if missing). logf, if not nil, gets one line per event (a shard in, a
// refused upload, the shards still waited for).
func NewReceiver(runID string, count int, dir string, logf func(format string, args ...any)) (*Receiver, error) {
	if runID == "" || count < 1 {
		return nil, fmt.Errorf("collect: want a run id and at least one shard, got %q and %d", runID, count)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Receiver{runID: runID, count: count, dir: dir, logf: logf, reports: map[int]Report{}, arrived: make(chan struct{}, 1)}, nil
}

// ShardDir is where shard i's result directory goes.
func (r *Receiver) ShardDir(i int) string {
	return filepath.Join(r.dir, fmt.Sprintf("run-shard-%d-of-%d", i, r.count))
}

// Handler serves the protocol.
func (r *Receiver) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /v1/runs/{run}/shards/{index}/results", r.putResults)
	mux.HandleFunc("PUT /v1/runs/{run}/shards/{index}/failure", r.putFailure)
	mux.HandleFunc("GET /v1/status", r.status)
	return mux
}

// Server is an http.Server for r's Handler whose reads are bounded in
// time: a shard has ReadTimeout to send its archive (a few MiB per hour of
// run, over a cluster network).
func (r *Receiver) Server() *http.Server {
	return &http.Server{
		Handler:           r.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		WriteTimeout:      6 * time.Minute,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
}

// httpError is a refusal with its status code.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func refuse(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// reply answers err (nil: ok), and logs a refusal.
func (r *Receiver) reply(w http.ResponseWriter, req *http.Request, err error, ok string) {
	if err == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, ok+"\n")
		return
	}
	code := http.StatusInternalServerError
	var he *httpError
	if errors.As(err, &he) {
		code = he.code
	}
	r.logf("refused %s %s from %s: %v", req.Method, req.URL.Path, req.RemoteAddr, err)
	http.Error(w, err.Error(), code)
}

// shardOf checks the request's run id and index.
func (r *Receiver) shardOf(req *http.Request) (int, error) {
	if run := req.PathValue("run"); run != r.runID {
		return 0, refuse(http.StatusConflict, "this collector collects run %q, not %q", r.runID, run)
	}
	i, err := strconv.Atoi(req.PathValue("index"))
	if err != nil || i < 0 || i >= r.count {
		return 0, refuse(http.StatusBadRequest, "shard %q: want an index from 0 to %d", req.PathValue("index"), r.count-1)
	}
	if r.isClosed() {
		return 0, refuse(http.StatusGone, "run %q is no longer collected: the merge has started", r.runID)
	}
	return i, nil
}

func (r *Receiver) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

func (r *Receiver) putResults(w http.ResponseWriter, req *http.Request) {
	i, err := r.shardOf(req)
	if err == nil {
		err = r.receive(w, req, i)
	}
	r.reply(w, req, err, fmt.Sprintf("shard %d of %d of run %s received", i, r.count, r.runID))
}

// receive unpacks shard i's archive next to its place, checks that it is
// that shard's, and moves it into place.
func (r *Receiver) receive(w http.ResponseWriter, req *http.Request, i int) error {
	tmp, err := os.MkdirTemp(r.dir, fmt.Sprintf(".incoming-shard-%d-", i))
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	body := http.MaxBytesReader(w, req.Body, MaxShardBytes)
	if err := unpack(body, tmp); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return refuse(http.StatusRequestEntityTooLarge, "shard %d: the archive is over %d MiB", i, MaxShardBytes>>20)
		}
		return refuse(http.StatusBadRequest, "shard %d: %v", i, err)
	}
	sum, err := report.ReadSummaryFile(tmp)
	if err != nil {
		return refuse(http.StatusUnprocessableEntity, "shard %d: no readable summary.json: %v", i, err)
	}
	if got := sum.Meta.Shard; sum.Meta.RunID != r.runID || got == nil || got.Index != i || got.Count != r.count {
		return refuse(http.StatusUnprocessableEntity, "shard %d: its summary.json is of run %q, shard %s; want run %q, shard %d of %d",
			i, sum.Meta.RunID, shardText(got), r.runID, i, r.count)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return refuse(http.StatusGone, "run %q is no longer collected: the merge has started", r.runID)
	}
	dst := r.ShardDir(i)
	if err := os.RemoveAll(dst); err != nil { // an earlier upload of the same shard
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	r.add(Report{Index: i, Dir: dst, EndReason: sum.EndReason})
	r.logf("shard %d of %d: results in (%s, %s)", i, r.count, sum.EndReason, verdictText(sum))
	return nil
}

func (r *Receiver) putFailure(w http.ResponseWriter, req *http.Request) {
	i, err := r.shardOf(req)
	var f Failure
	if err == nil {
		dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, maxFailureBytes))
		dec.DisallowUnknownFields()
		if derr := dec.Decode(&f); derr != nil {
			err = refuse(http.StatusBadRequest, "shard %d: want {\"exit_code\": N, \"error\": \"...\"}: %v", i, derr)
		}
	}
	if err == nil {
		r.mu.Lock()
		switch {
		case r.closed:
			err = refuse(http.StatusGone, "run %q is no longer collected: the merge has started", r.runID)
		case r.reports[i].Dir != "":
			err = refuse(http.StatusConflict, "shard %d already sent its results", i)
		default:
			r.add(Report{Index: i, Failure: &f})
			r.logf("shard %d of %d: no results (exit %d): %s", i, r.count, f.ExitCode, f.Error)
		}
		r.mu.Unlock()
	}
	r.reply(w, req, err, fmt.Sprintf("shard %d of %d of run %s: failure noted", i, r.count, r.runID))
}

// add records a report; r.mu is held.
func (r *Receiver) add(rep Report) {
	r.reports[rep.Index] = rep
	select {
	case r.arrived <- struct{}{}:
	default:
	}
}

func (r *Receiver) status(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	n := len(r.reports)
	r.mu.Unlock()
	fmt.Fprintf(w, "collecting run %s: %d of %d shards in\n", r.runID, n, r.count)
}

// Wait waits until every shard has reported, ctx ends, timeout has
// passed, or LateGrace has passed since the first shard that ran to its
// end sent its results. Then it stops taking uploads (410) and returns
// the reports by index, and the indexes of the shards that sent nothing.
func (r *Receiver) Wait(ctx context.Context, timeout time.Duration) (reports []Report, missing []int) {
	deadline := time.Now().Add(timeout)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	tick := time.NewTicker(waitingEvery)
	defer tick.Stop()
	graced := false
	r.logf("collecting run %s: waiting for %d shards until %s", r.runID, r.count, deadline.UTC().Format(time.RFC3339))
wait:
	for {
		r.mu.Lock()
		n, ended := len(r.reports), false
		for _, rep := range r.reports {
			ended = ended || rep.EndReason == report.EndCompleted
		}
		r.mu.Unlock()
		if n == r.count {
			break
		}
		if ended && !graced {
			graced = true
			if d := time.Now().Add(LateGrace); d.Before(deadline) {
				deadline = d
				timer.Reset(time.Until(d))
				r.logf("a shard ran to its end: waiting for the others until %s", d.UTC().Format(time.RFC3339))
			}
		}
		select {
		case <-r.arrived:
		case <-tick.C:
			r.logf("waiting for shards %s (%d of %d in) until %s", Indexes(r.missing()), n, r.count, deadline.UTC().Format(time.RFC3339))
		case <-timer.C:
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	r.mu.Lock()
	r.closed = true
	for i := range r.count {
		if rep, ok := r.reports[i]; ok {
			reports = append(reports, rep)
		}
	}
	r.mu.Unlock()
	return reports, r.missing()
}

// missing are the indexes of the shards that have not reported.
func (r *Receiver) missing() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for i := range r.count {
		if _, ok := r.reports[i]; !ok {
			out = append(out, i)
		}
	}
	return out
}

// Indexes formats shard indexes for messages: "0, 2 and 3".
func Indexes(is []int) string {
	s := make([]string, len(is))
	for k, i := range is {
		s[k] = strconv.Itoa(i)
	}
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func shardText(s *report.Shard) string {
	if s == nil {
		return "none"
	}
	return fmt.Sprintf("%d of %d", s.Index, s.Count)
}

// verdictText is how many of the shard's own thresholds failed.
func verdictText(sum *report.Summary) string {
	switch failed := len(sum.FailedThresholds()); failed {
	case 0:
		return "no threshold failed on its slice"
	case 1:
		return "1 threshold failed on its slice"
	default:
		return fmt.Sprintf("%d thresholds failed on its slice", failed)
	}
}
