package fleet

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	emetrics "github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// benchUsers is how many users one op of BenchmarkConnectBurst brings
// online: enough that the per-run costs (New's transport, the teardown)
// are a small share, few enough for an op of a few seconds.
const benchUsers = 2000

// BenchmarkConnectBurst brings benchUsers users online at 5,000/s, each
// with the SDK's login (GET /v1/sdk/me, GET /v1/sdk/sos) and then MQTT
// CONNECT and SUBSCRIBE, against mosquitto and nginx in their own
// processes, so that the CPU and allocations it reports are the
// simulator's alone:
//
//	go test -run '^$' -bench ConnectBurst -benchtime 3x ./fleet
//
// One op is one fleet.Run: the burst, the users online until the 5 s stage
// ends, and the teardown (DISCONNECT each). It reports per user the
// process's CPU (user+system, getrusage) and the heap allocations during
// Run, the share of that CPU the garbage collector used (the runtime's
// estimate), and per run the TCP connections the HTTP transport opened.
func BenchmarkConnectBurst(b *testing.B) {
	broker := startBenchMosquitto(b)
	api := startBenchNginx(b)
	sc, err := scenario.Parse("connect-bench.yaml", []byte(fmt.Sprintf(`
version: 1
name: connect-bench
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "burst-{{.N}}" }
fleet: { users: %d, connect_rate: 5000/s, receive_maximum: 16, keep_alive: 30s }
stages:
  - { name: burst, for: 5s, users: 100%% }
behaviours:
  login: [me, sos_rehydrate]
`, benchUsers)), scenario.Options{Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		b.Fatal(err)
	}
	var cpu, gc, allocs, bytes, dials float64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		reg := emetrics.NewRegistry()
		rn, err := New(Config{Scenario: sc, HTTPURL: api, MQTTURL: "tcp://" + broker, Metrics: reg})
		if err != nil {
			b.Fatal(err)
		}
		var dialed atomic.Int64
		tr := rn.r.http.transport
		dial := tr.DialContext
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialed.Add(1)
			return dial(ctx, network, addr)
		}
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		c0, g0 := cpuTime(b), gcCPU()
		b.StartTimer()
		if _, err := rn.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += (cpuTime(b) - c0).Seconds()
		gc += gcCPU() - g0
		runtime.ReadMemStats(&m1)
		allocs += float64(m1.Mallocs - m0.Mallocs)
		bytes += float64(m1.TotalAlloc - m0.TotalAlloc)
		dials += float64(dialed.Load())
		if s := reg.Latency(scenario.UserLogin).Summary(); s.Count != benchUsers || s.Errors != 0 {
			b.Fatalf("user.login: %d online, %d errors %v; want %d, 0", s.Count, s.Errors, s.ErrorsBy, benchUsers)
		}
		b.StartTimer()
	}
	users := float64(b.N * benchUsers)
	b.ReportMetric(cpu/users*1e6, "cpu-µs/user")
	b.ReportMetric(gc/users*1e6, "gc-cpu-µs/user")
	b.ReportMetric(allocs/users, "allocs/user")
	b.ReportMetric(bytes/users, "B/user")
	b.ReportMetric(dials/float64(b.N), "http-dials/op")
}

// cpuTime is the process's user+system CPU so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gcCPU is the runtime's estimate of the CPU seconds its garbage
// collector has used so far (assists, workers, pauses).
func gcCPU() float64 {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64()
}

// startBenchMosquitto starts mosquitto on a free loopback port and
// returns its address; it skips the benchmark when mosquitto is absent.
func startBenchMosquitto(b *testing.B) string {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/mosquitto"); serr != nil {
			b.Skip("mosquitto not installed: apt-get install mosquitto")
		}
		bin = "/usr/sbin/mosquitto"
	}
	dir := b.TempDir()
	port := benchFreePort(b)
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\nmax_connections -1\nset_tcp_nodelay true\npersistence false\nlog_dest none\n", port)
	if os.Geteuid() == 0 {
		conf += "user root\n" // as root it would switch to a user that cannot read the temp dir
	}
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	startBenchPeer(b, exec.Command(bin, "-c", path), addr)
	return addr
}

// startBenchNginx starts nginx answering the SDK's login calls as
// bench/connect-burst.sh's does and returns its base URL; it skips the
// benchmark when nginx is absent.
func startBenchNginx(b *testing.B) string {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			b.Skip("nginx not installed: apt-get install nginx-light")
		}
		bin = "/usr/sbin/nginx"
	}
	dir := b.TempDir()
	port := benchFreePort(b)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := fmt.Sprintf(`%s
daemon off;
master_process off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[2]s/body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  default_type application/json;
  server {
    listen 127.0.0.1:%[3]d;
    location = /v1/sdk/me { return 200 '{"user":{"id":"u-$http_x_user_id","external_user_id":"$http_x_user_id"}}'; }
    location = /v1/sdk/sos { return 200 '{"incident":null}'; }
    location / { return 404 '{"error":"not an SDK login call"}'; }
  }
}
`, user, dir, port)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	startBenchPeer(b, exec.Command(bin, "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log")), addr)
	return "http://" + addr
}

// startBenchPeer starts cmd, waits (up to 10 s) until something accepts
// connections on addr, and stops it when the benchmark ends.
func startBenchPeer(b *testing.B, cmd *exec.Cmd, addr string) {
	out, err := os.Create(filepath.Join(b.TempDir(), "output"))
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			b.Fatalf("%s exited: %s", cmd.Path, benchOutput(out))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s does not listen on %s after 10 s: %s", cmd.Path, addr, benchOutput(out))
		}
	}
}

// benchFreePort returns a loopback port that was free a moment ago.
func benchFreePort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// benchOutput is what a peer wrote to its output file so far.
func benchOutput(f *os.File) string {
	b, _ := os.ReadFile(f.Name())
	return string(b)
}
