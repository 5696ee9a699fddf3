package main

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/collect"
	"github.com/eixamsim/eixamsim/refbackend"
)

// TestResultsToAndCollectUsage: --results-to and --collect refuse what
// they cannot do, before anything runs.
func TestResultsToAndCollectUsage(t *testing.T) {
	dir := t.TempDir()
	valid := filepath.Join(dir, "ok.yaml")
	if err := os.WriteFile(valid, []byte(header+"name: ok\nduration: 3s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "merged")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", valid, "--results-to", "http://c:8080"}, "--results-to sends a shard's results: it needs --shard"},
		{[]string{"run", valid, "--shard", "0/2", "--results-to", "http://c:8080"}, "--results-to needs --run-id"},
		{[]string{"run", valid, "--shard", "0/2", "--run-id", "r1", "--results-to", "ftp://c"}, `--results-to: "ftp://c": want the collector's base URL`},
		{[]string{"run", valid, "--procs", "2", "--results-to", "http://c:8080"}, "--results-to cannot be combined with --procs"},
		{[]string{"merge", "--collect", "127.0.0.1:0", "--out", out}, "--collect needs --shards N"},
		{[]string{"merge", "--collect", "127.0.0.1:0", "--shards", "2", "--out", out}, "--collect needs --run-id ID"},
		{[]string{"merge", "--collect", "127.0.0.1:0", "--shards", "2", "--run-id", "r 1", "--out", out}, "--run-id"},
		{[]string{"merge", "--collect", "127.0.0.1:0", "--shards", "2", "--run-id", "r1", "--out", out, dir}, "--collect receives the shards' directories: give no directory"},
		{[]string{"merge", "--collect", "127.0.0.1:0", "--shards", "2", "--run-id", "r1"}, "--out DIR is required"},
	} {
		code, _, stderr := cli(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, want 2 with %q\n%s", tc.args, code, tc.want, stderr)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused merge created %s", out)
	}
}

// TestShardsWithoutResultsReachTheCollector: two shards that cannot reach
// their target have no results; each tells the collector why, and the
// collector, with nothing to merge, stops waiting at once and exits with
// their common code, naming each.
func TestShardsWithoutResultsReachTheCollector(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := ln.Addr().String()
	ln.Close() // nothing listens there now
	path, out := writeScenario(t, "gone", header+`name: gone
duration: 3s
target: { http: "http://`+gone+`", mqtt: "tcp://`+gone+`" }
`)
	merged := filepath.Join(filepath.Dir(out), "merged")
	collector, wait := start(t, "merge", "--collect", "127.0.0.1:0", "--shards", "2", "--run-id", "gone-1", "--out", merged)
	addr := listening(t, collector.Stderr.(*syncBuffer))
	for i := range 2 {
		r := eixamsim(t, "run", path, "--shard", string(rune('0'+i))+"/2", "--run-id", "gone-1", "--out", out, "--results-to", "http://"+addr)
		if r.code != exitUnreachable {
			t.Fatalf("shard %d: exit %d, want 3\n%s", i, r.code, r.stderr)
		}
	}
	r := wait()
	if r.code != exitUnreachable || !strings.Contains(r.stderr, "no shard of run gone-1 sent results") {
		t.Fatalf("collector: exit %d, want 3\n%s", r.code, r.stderr)
	}
	for i := range 2 {
		if !regexp.MustCompile(`shard ` + string(rune('0'+i)) + ` of 2: no results \(exit 3\): .*unreachable`).MatchString(r.stderr) {
			t.Errorf("the collector does not name shard %d's failure:\n%s", i, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "e2e-secret") {
		t.Error("the secret was printed")
	}
}

// listening waits (up to 30 s) for the collector's "listening on ADDR"
// line and returns ADDR.
func listening(t *testing.T, stderr *syncBuffer) string {
	t.Helper()
	re := regexp.MustCompile(`collector listening on (\S+)`)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("the collector never said where it listens:\n%s", stderr.String())
	return ""
}

// TestShardWhoseResultsAreRefusedExits1: a shard that sends its results
// to a collector of another run is refused, keeps its own result
// directory, and exits 1 (its results are lost to the merge), naming the
// refusal and its own verdict.
func TestShardWhoseResultsAreRefusedExits1(t *testing.T) {
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		MQTTAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Apps: map[string][]byte{"e2e": []byte("e2e-secret")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r, err := collect.NewReceiver("other-run", 1, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	col := httptest.NewServer(r.Handler())
	defer col.Close()
	path, out := writeScenario(t, "refused", header+`name: refused
duration: 2s
target: { http: "`+srv.HTTPURL()+`", mqtt: "`+srv.MQTTURL()+`" }
thresholds:
  user.login: ["count > 1000"]
`)
	code, _, stderr := cli(t, "run", path, "--no-progress", "--shard", "0/1", "--run-id", "this-run", "--out", out, "--results-to", col.URL)
	if code != exitInternal || !strings.Contains(stderr, `refused shard 0's results: 409 Conflict: this collector collects run "other-run", not "this-run"`) ||
		!strings.Contains(stderr, "1 of 1 thresholds failed") || !strings.Contains(stderr, "the results were not sent") {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out+"-shard-0-of-1", "summary.json")); err != nil {
		t.Errorf("the shard's own results: %v", err)
	}
}
