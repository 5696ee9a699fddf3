package collect

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eixamsim/eixamsim/report"
)

// shardDir writes a result directory for shard index of count of runID:
// a summary.json that says so, a log under hdr/, and a report.
func shardDir(t *testing.T, runID string, index, count int, end report.EndReason) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("shard-%d", index))
	sum := report.Summary{
		Schema: "eixamsim/summary", Version: report.SchemaVersion, Name: "collect-test",
		Meta:      &report.Meta{RunID: runID, Shard: &report.Shard{Index: index, Count: count}},
		EndReason: end,
	}
	b, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		report.SummaryJSONFile:      string(b),
		"hdr/telemetry.puback.hlog": "#[hlog of shard " + fmt.Sprint(index) + "]\n",
		"report.html":               "<html>shard</html>",
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// collector is a Receiver behind a real HTTP server on loopback.
func collector(t *testing.T, runID string, count int) (*Receiver, *httptest.Server, *lines) {
	t.Helper()
	var log lines
	r, err := NewReceiver(runID, count, filepath.Join(t.TempDir(), "shards"), log.add)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	return r, srv, &log
}

// lines collects log lines.
type lines struct {
	mu sync.Mutex
	l  []string
}

func (l *lines) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.l = append(l.l, fmt.Sprintf(format, args...))
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.l, "\n")
}

// TestShardsArriveWhole sends three shards' directories to a collector,
// one as a failure, and checks each lands whole in its place and Wait
// returns at once with every report.
func TestShardsArriveWhole(t *testing.T) {
	r, srv, log := collector(t, "run-1", 3)
	ctx := context.Background()
	for i := range 2 {
		c := Client{URL: srv.URL, RunID: "run-1", Index: i}
		if err := c.SendResults(ctx, shardDir(t, "run-1", i, 3, report.EndCompleted)); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
	if err := (Client{URL: srv.URL, RunID: "run-1", Index: 2}).SendFailure(ctx, Failure{ExitCode: 2, Error: "scenario.yaml:3: bad"}); err != nil {
		t.Fatal(err)
	}
	reports, missing := r.Wait(ctx, time.Hour)
	if len(reports) != 3 || len(missing) != 0 {
		t.Fatalf("reports %+v, missing %v", reports, missing)
	}
	for i, rep := range reports[:2] {
		if rep.Dir != r.ShardDir(i) || rep.EndReason != report.EndCompleted {
			t.Errorf("shard %d: %+v", i, rep)
		}
		got, err := os.ReadFile(filepath.Join(rep.Dir, "hdr", "telemetry.puback.hlog"))
		if err != nil || string(got) != fmt.Sprintf("#[hlog of shard %d]\n", i) {
			t.Errorf("shard %d's log: %q %v", i, got, err)
		}
		if sum, err := report.ReadSummaryFile(rep.Dir); err != nil || sum.Meta.Shard.Index != i {
			t.Errorf("shard %d's summary: %v", i, err)
		}
	}
	if f := reports[2].Failure; reports[2].Dir != "" || f == nil || f.ExitCode != 2 || f.Error != "scenario.yaml:3: bad" {
		t.Errorf("shard 2: %+v", reports[2])
	}
	if !strings.Contains(log.String(), "shard 2 of 3: no results (exit 2)") {
		t.Errorf("log:\n%s", log)
	}
	// Once Wait has returned the run is closed: a late shard is told so.
	err := (Client{URL: srv.URL, RunID: "run-1", Index: 0}).SendResults(ctx, shardDir(t, "run-1", 0, 3, report.EndCompleted))
	if err == nil || !strings.Contains(err.Error(), "410") {
		t.Errorf("a late upload: %v", err)
	}
}

// TestUploadsThatAreNotThisRunsAreRefused checks every refusal: another
// run's id, an index out of range, an archive whose summary is another
// shard's, one without a summary; each is final (no retry) and leaves
// nothing behind.
func TestUploadsThatAreNotThisRunsAreRefused(t *testing.T) {
	r, srv, _ := collector(t, "run-1", 2)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		client Client
		dir    string
		want   string
	}{
		{"another run's id", Client{RunID: "run-2", Index: 0}, shardDir(t, "run-2", 0, 2, report.EndCompleted), `409 Conflict: this collector collects run "run-1", not "run-2"`},
		{"an index out of range", Client{RunID: "run-1", Index: 2}, shardDir(t, "run-1", 2, 3, report.EndCompleted), "400 Bad Request: shard \"2\": want an index from 0 to 1"},
		{"another shard's summary", Client{RunID: "run-1", Index: 0}, shardDir(t, "run-1", 1, 2, report.EndCompleted), "422 Unprocessable Entity: shard 0: its summary.json is of run \"run-1\", shard 1 of 2"},
		{"another run's summary", Client{RunID: "run-1", Index: 0}, shardDir(t, "run-2", 0, 2, report.EndCompleted), `its summary.json is of run "run-2"`},
		{"no summary", Client{RunID: "run-1", Index: 1}, t.TempDir(), "422 Unprocessable Entity: shard 1: no readable summary.json"},
	} {
		tc.client.URL = srv.URL
		err := tc.client.SendResults(ctx, tc.dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s: %v, want a refusal with %q", tc.name, err, tc.want)
		}
	}
	entries, _ := os.ReadDir(r.dir)
	if len(entries) != 0 {
		t.Errorf("refused uploads left %v", entries)
	}
	if got := r.missing(); len(got) != 2 {
		t.Errorf("refused uploads counted: missing %v", got)
	}
}

// put sends an archive made by build to shard 0 of run-1.
func put(t *testing.T, url string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url+"/v1/runs/run-1/shards/0/results", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(msg)
}

// archive is a tar.gz of the given headers, each with its body.
func archive(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := e.h
		h.Size = int64(len(e.body))
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type tarEntry struct {
	h    tar.Header
	body string
}

// TestArchivesThatLeaveTheirDirectoryAreRefused sends hostile archives:
// paths with "..", absolute paths, a symlink pointing out followed by a
// file through it, a hard link, a device, the same file twice, and a
// file larger than the limit claims; each is a 400 (or 413) naming the
// entry, and nothing is written outside the collector's directory.
func TestArchivesThatLeaveTheirDirectoryAreRefused(t *testing.T) {
	r, srv, _ := collector(t, "run-1", 1)
	outside := filepath.Join(filepath.Dir(r.dir), "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	reg := func(name, body string) tarEntry {
		return tarEntry{tar.Header{Name: name, Typeflag: tar.TypeReg}, body}
	}
	for _, tc := range []struct {
		name    string
		entries []tarEntry
		want    string
	}{
		{"dot-dot", []tarEntry{reg("../outside/x", "pwned")}, `entry "../outside/x": not a plain path`},
		{"dot-dot inside", []tarEntry{reg("hdr/../../outside/x", "pwned")}, `not a plain path`},
		{"absolute", []tarEntry{reg(outside+"/x", "pwned")}, `not a plain path`},
		{"symlink", []tarEntry{{tar.Header{Name: "hdr", Typeflag: tar.TypeSymlink, Linkname: outside}, ""}, reg("hdr/x", "pwned")}, `entry "hdr": a symbolic link refused`},
		{"hard link", []tarEntry{{tar.Header{Name: "x", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}, ""}}, `a hard link refused`},
		{"device", []tarEntry{{tar.Header{Name: "x", Typeflag: tar.TypeChar}, ""}}, `a device refused`},
		{"twice", []tarEntry{reg("summary.json", "{}"), reg("summary.json", "{}")}, `entry "summary.json": open`},
		{"backslash", []tarEntry{reg(`..\outside\x`, "pwned")}, `not a plain path`},
	} {
		code, msg := put(t, srv.URL, archive(t, tc.entries...))
		if code != http.StatusBadRequest || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d %q, want 400 with %q", tc.name, code, msg, tc.want)
		}
	}
	// A header that claims more than the limit is refused before a byte
	// of it is written.
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	_ = tw.WriteHeader(&tar.Header{Name: "huge", Typeflag: tar.TypeReg, Size: MaxShardBytes + 1, Mode: 0o644})
	_ = gz.Flush()
	if code, msg := put(t, srv.URL, buf.Bytes()); code != http.StatusBadRequest || !strings.Contains(msg, `entry "huge": the archive holds more than 1024 MiB`) {
		t.Errorf("an oversized entry: %d %q", code, msg)
	}
	if code, msg := put(t, srv.URL, []byte("not gzip")); code != http.StatusBadRequest || !strings.Contains(msg, "not a gzip-compressed tar archive") {
		t.Errorf("not an archive: %d %q", code, msg)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside: %v", entries)
	}
	if entries, _ := os.ReadDir(r.dir); len(entries) != 0 {
		t.Errorf("refused uploads left %v", entries)
	}
}

// TestSendRetriesUntilTheCollectorAnswers: a collector that answers 503
// (not ready) and then takes the upload gets it on a later attempt; a
// refusal (4xx) is not retried.
func TestSendRetriesUntilTheCollectorAnswers(t *testing.T) {
	r, err := NewReceiver("run-1", 1, filepath.Join(t.TempDir(), "shards"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	h := r.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, req)
	}))
	defer srv.Close()
	var retries lines
	c := Client{URL: srv.URL, RunID: "run-1", Index: 0, Logf: retries.add}
	if err := c.SendResults(context.Background(), shardDir(t, "run-1", 0, 1, report.EndCompleted)); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || !strings.Contains(retries.String(), "503 Service Unavailable: starting; trying again") {
		t.Errorf("%d calls; log:\n%s", calls.Load(), &retries)
	}
	calls.Store(1)
	c.RunID = "run-2"
	if err := c.SendResults(context.Background(), shardDir(t, "run-2", 0, 1, report.EndCompleted)); err == nil || calls.Load() != 2 {
		t.Errorf("a refusal: %v after %d calls, want one", err, calls.Load()-1)
	}
}

// TestWaitEndsLateGraceAfterAShardRanToItsEnd: a shard whose run went
// to its end starts LateGrace for the others; an aborted shard does not;
// without any, the timeout ends the wait. Virtual time.
func TestWaitEndsLateGraceAfterAShardRanToItsEnd(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first report.EndReason
		want  time.Duration // how long Wait waits after the first report
	}{
		{"completed", report.EndCompleted, LateGrace},
		{"aborted", report.EndAborted, time.Hour - time.Minute},
	} {
		synctest.Test(t, func(t *testing.T) {
			r, err := NewReceiver("run-1", 3, t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan []int)
			go func() {
				_, missing := r.Wait(context.Background(), time.Hour)
				done <- missing
			}()
			time.Sleep(time.Minute)
			r.mu.Lock()
			r.add(Report{Index: 1, Dir: "x", EndReason: tc.first})
			r.mu.Unlock()
			start := time.Now()
			missing := <-done
			if got := time.Since(start); got != tc.want {
				t.Errorf("%s: waited %v after the first shard, want %v", tc.name, got, tc.want)
			}
			if fmt.Sprint(missing) != "[0 2]" || Indexes(missing) != "0 and 2" {
				t.Errorf("%s: missing %v", tc.name, missing)
			}
		})
	}
}
