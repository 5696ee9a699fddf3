// Command rawburst is the floor for eixamsim's connect burst: N signed
// users coming online at a rate (or all at once), each doing what the SDK
// does on a first login (contract §6.1) and nothing else, written with the
// standard library, bare paho.golang and the contract package.
//
// With -login a user first makes the SDK's two login calls (§2.1, §2.3,
// §2.4): GET /v1/sdk/me with Accept: application/json, then GET
// /v1/sdk/sos, both with Content-Type: application/json, X-App-ID,
// X-User-ID and Authorization: Bearer <userHash>, through one shared
// net/http Transport that holds at most -inflight connections, one per
// worker, and keeps them all when idle, so a login never dials while an
// idle connection exists. /me's user.external_user_id is the topic
// segment; the SOS answer is decoded. Then, with or without -login, MQTT 5 CONNECT (§3.1: client id, username
// and password from the contract package, clean start, keep-alive 30 s,
// Receive Maximum 16) and SUBSCRIBE sos/events/<seg> at QoS 1. Without
// -login the segment is the user id: the difference is what the login
// costs.
//
// Users are due at -rate per second from the start (0: all at once), paced
// as eixamsim's stage ramp paces them, and served by -inflight workers,
// each running one user's whole sequence at a time; a due user waits for a
// free worker, as eixamsim's users wait for a login slot. The default, 64,
// keeps the connections being opened under mosquitto's listen backlog
// (100, fixed): past it the kernel drops SYNs (TcpExt ListenOverflows) and
// those users wait out a 1 s retransmission, which at 2,000 users all at
// once (256 in flight) more than halved the rate reached. eixamsim allows
// 256 logins in flight per process and does not bound its MQTT connects.
// There are no retries: a failed user is an error, counted by step and
// class. Users stay connected until -for has passed from the start, then
// disconnect. User n's id is burst-<n>, as bench/connect-burst.sh's
// scenario names eixamsim's users.
//
// The result is one JSON object on stdout, also when interrupted (SIGINT,
// SIGTERM): users connected, the rate reached (users over the time from
// the start to the last SUBACK), CPU (user+sys, getrusage) in the burst
// and in all, the HTTP requests and the TCP connections the transport
// opened (httptrace), and errors by kind. The exit code is 1 when a user
// did not come online.
//
//	go run ./bench/rawburst -login -http http://127.0.0.1:28301 -broker 127.0.0.1:21301 -users 10000 -rate 5000 -for 10s
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/contract"
)

// userTimeout bounds one user's whole sequence (both GETs, dial, CONNECT,
// SUBSCRIBE): eixamsim's default http_timeout and connect_timeout, 10 s
// each.
const userTimeout = 20 * time.Second

// Header names as net/http writes them, canonicalised once.
var (
	headerAccept      = http.CanonicalHeaderKey("Accept")
	headerContentType = http.CanonicalHeaderKey("Content-Type")
	headerAuth        = http.CanonicalHeaderKey("Authorization")
	headerAppID       = http.CanonicalHeaderKey(contract.HeaderAppID)
	headerUserID      = http.CanonicalHeaderKey(contract.HeaderUserID)
)

func main() {
	var c config
	flag.StringVar(&c.broker, "broker", "127.0.0.1:21301", "MQTT broker host:port (plain TCP)")
	flag.StringVar(&c.base, "http", "http://127.0.0.1:28301", "API base URL of the login calls (with -login)")
	flag.BoolVar(&c.login, "login", false, "make the SDK's login calls (GET /v1/sdk/me, GET /v1/sdk/sos) before CONNECT")
	flag.IntVar(&c.users, "users", 10000, "users")
	flag.IntVar(&c.first, "first", 0, "index of the first user (several processes split one fleet)")
	flag.Float64Var(&c.rate, "rate", 5000, "users due per second; 0: all at once")
	flag.IntVar(&c.inflight, "inflight", 64, "workers: users in their login and connect sequence at once, and the HTTP connections kept")
	flag.DurationVar(&c.length, "for", 10*time.Second, "run length from the start: users stay online until then")
	at := flag.Float64("at", 0, "start at this Unix time in seconds (processes of one fleet start together); 0: now")
	flag.StringVar(&c.app, "app", "demo-app", "app id")
	secretEnv := flag.String("secret-env", "EIXAM_APP_SECRET", "environment variable with the app secret")
	flag.Parse()
	if c.users < 1 || c.inflight < 1 || c.rate < 0 {
		fmt.Fprintln(os.Stderr, "rawburst: -users and -inflight must be >= 1 and -rate >= 0")
		os.Exit(2)
	}
	c.secret = []byte(os.Getenv(*secretEnv))
	if *at > 0 {
		c.start = time.Unix(0, int64(*at*1e9))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	res := newBurst(c).run(ctx)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(res)
	if res.Connected < int64(c.users) {
		os.Exit(1)
	}
}

// config is what the flags say.
type config struct {
	login             bool
	broker, base, app string
	secret            []byte
	first, users      int     // users first..first+users-1
	rate              float64 // users due per second; 0: all at once
	inflight          int     // workers
	length            time.Duration
	start             time.Time // zero: now
}

// burst is one process's share of the fleet.
type burst struct {
	config
	meURL, sosURL  string
	client         *http.Client
	dialer         net.Dialer
	requests, dial atomic.Int64

	mu     sync.Mutex
	errors map[string]int64 // "<step> <class>" → users that failed there so
}

func newBurst(c config) *burst {
	return &burst{
		config: c,
		meURL:  c.base + contract.PathMe,
		sosURL: c.base + contract.PathSOS,
		client: &http.Client{Transport: &http.Transport{
			Proxy:               nil, // loopback only, never an environment proxy
			DialContext:         (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:   false, // one request per connection at a time, like the phone
			MaxIdleConns:        c.inflight,
			MaxIdleConnsPerHost: c.inflight,
			// A worker has at most one request out, so this never makes one
			// wait; it stops the transport from dialing for a request that
			// an idle connection then serves (it does not cancel that dial).
			MaxConnsPerHost: c.inflight,
			IdleConnTimeout: 90 * time.Second,
		}},
		errors: map[string]int64{},
	}
}

// result is rawburst's output.
type result struct {
	Login     bool    `json:"login"`
	Users     int     `json:"users"`
	First     int     `json:"first"`
	AskedPerS float64 `json:"asked_per_s"` // 0: all at once
	Inflight  int     `json:"inflight"`
	Connected int64   `json:"connected"`
	// Start is when the first user was due; LastOnline when the last
	// SUBACK came (Unix seconds). Seconds is the time between them and
	// ReachedPerS Connected over it.
	Start       float64 `json:"start_unix_s"`
	LastOnline  float64 `json:"last_online_unix_s"`
	Seconds     float64 `json:"seconds"`
	ReachedPerS float64 `json:"reached_per_s"`
	// CPUBurst is user+system CPU from the start until every user's
	// sequence ended; CPUTotal the whole process's, at exit.
	CPUBurst        float64 `json:"cpu_burst_s"`
	CPUTotal        float64 `json:"cpu_total_s"`
	BurstUSPerUser  float64 `json:"cpu_burst_us_per_user"`
	MaxRSSKiB       int64   `json:"max_rss_kib"`
	HTTPRequests    int64   `json:"http_requests"`
	HTTPConnections int64   `json:"http_new_tcp_connections"`
	// Errors counts failed users by "<step> <class>", step one of me,
	// sos_get (the endpoint names of package contract), connect (dial and
	// CONNECT) and subscribe.
	Errors      map[string]int64 `json:"errors"`
	Interrupted bool             `json:"interrupted,omitempty"`
}

// run brings the users online from the start and keeps them there until
// length has passed from it.
func (b *burst) run(ctx context.Context) result {
	first, n, inflight := b.first, b.users, b.inflight
	res := result{Login: b.login, Users: n, First: first, AskedPerS: b.rate, Inflight: inflight}
	start := b.start
	if start.IsZero() {
		start = time.Now()
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(start)):
	}
	cpu0 := cpuSeconds()
	// One trace for every request: it counts requests and the connections
	// the transport dials. It goes on each user's HTTP context, not on the
	// one its MQTT dial uses: net.Dialer reports to it too.
	trace := &httptrace.ClientTrace{
		GetConn: func(string) { b.requests.Add(1) },
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				b.dial.Add(1)
			}
		},
	}

	due := make(chan int, n)
	clients := make([]*paho.Client, n)
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		connected  int64
		lastOnline time.Time
	)
	for range min(inflight, n) {
		wg.Go(func() {
			var buf bytes.Buffer
			var online int64
			var last time.Time
			for i := range due {
				if ctx.Err() != nil {
					continue // interrupted: drain
				}
				uctx, cancel := context.WithTimeout(ctx, userTimeout)
				c := b.online(uctx, httptrace.WithClientTrace(uctx, trace), first+i, &buf)
				cancel()
				if c != nil {
					clients[i], online, last = c, online+1, time.Now()
				}
			}
			mu.Lock()
			connected += online
			if last.After(lastOnline) {
				lastOnline = last
			}
			mu.Unlock()
		})
	}
	pace(ctx, start, b.rate, n, due)
	close(due)
	wg.Wait()
	res.CPUBurst = cpuSeconds() - cpu0

	select {
	case <-ctx.Done():
	case <-time.After(time.Until(start.Add(b.length))):
	}
	res.Interrupted = ctx.Err() != nil
	for _, c := range clients {
		if c != nil {
			_ = c.Disconnect(&paho.Disconnect{})
		}
	}
	b.client.CloseIdleConnections()

	res.Connected = connected
	res.Start = float64(start.UnixNano()) / 1e9
	if !lastOnline.IsZero() {
		res.LastOnline = float64(lastOnline.UnixNano()) / 1e9
		res.Seconds = lastOnline.Sub(start).Seconds()
		res.ReachedPerS = float64(connected) / res.Seconds
	}
	res.CPUTotal = cpuSeconds()
	res.BurstUSPerUser = res.CPUBurst / float64(max(res.Connected, 1)) * 1e6
	res.MaxRSSKiB = maxRSSKiB()
	res.HTTPRequests, res.HTTPConnections = b.requests.Load(), b.dial.Load()
	b.mu.Lock()
	res.Errors = b.errors
	b.mu.Unlock()
	return res
}

// pace hands users 0..n-1 to due at rate per second from start, as
// eixamsim's stage controller starts them: each due one interval after the
// last, absorbing at most one interval of lateness so that a late wake-up
// does not lower the rate. Rate 0 hands them all at once.
func pace(ctx context.Context, start time.Time, rate float64, n int, due chan<- int) {
	if rate == 0 {
		for i := range n {
			due <- i
		}
		return
	}
	interval := time.Duration(float64(time.Second) / rate)
	next := start
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := range n {
		if d := time.Until(next); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			return
		}
		due <- i
		if now := time.Now().Add(-interval); now.After(next) {
			next = now
		}
		next = next.Add(interval)
	}
}

// online runs user n's sequence, the login calls with httpCtx, and returns
// its connected client, or nil after counting the step that failed.
func (b *burst) online(ctx, httpCtx context.Context, n int, buf *bytes.Buffer) *paho.Client {
	id := fmt.Sprintf("burst-%d", n)
	hash := contract.Sign(b.secret, id)
	seg := id
	if b.login {
		var me contract.Me
		if class := b.get(httpCtx, b.meURL, id, hash, true, buf, &me); class != "" {
			b.fail(contract.EndpointMe, class)
			return nil
		}
		seg = strings.TrimSpace(me.User.ExternalUserID)
		if seg == "" || strings.TrimSpace(me.User.ID) == "" {
			b.fail(contract.EndpointMe, "invalid_response")
			return nil
		}
		var sos contract.IncidentBody
		if class := b.get(httpCtx, b.sosURL, id, hash, false, buf, &sos); class != "" {
			b.fail(contract.EndpointSOSGet, class)
			return nil
		}
	}
	conn, err := b.dialer.DialContext(ctx, "tcp", b.broker)
	if err != nil {
		b.fail("connect", netClass(err))
		return nil
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn})
	rm := uint16(16)
	ack, err := c.Connect(ctx, &paho.Connect{
		ClientID: contract.ClientID(b.app, id), KeepAlive: 30, CleanStart: true,
		Username: contract.Username(b.app, id), UsernameFlag: true,
		Password: []byte(hash), PasswordFlag: true,
		Properties: &paho.ConnectProperties{ReceiveMaximum: &rm},
	})
	if err != nil {
		conn.Close()
		class := netClass(err)
		if ack != nil && ack.ReasonCode >= 0x80 {
			class = fmt.Sprintf("connack_0x%02x", ack.ReasonCode)
		}
		b.fail("connect", class)
		return nil
	}
	if sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: contract.EventsTopic(seg), QoS: 1}}}); err != nil {
		_ = c.Disconnect(&paho.Disconnect{})
		class := netClass(err)
		if sa != nil && len(sa.Reasons) == 1 && sa.Reasons[0] >= 0x80 {
			class = fmt.Sprintf("suback_0x%02x", sa.Reasons[0])
		}
		b.fail("subscribe", class)
		return nil
	}
	return c
}

// get makes one SDK GET (contract §2.1 headers; Accept only on /me) and
// decodes a 2xx JSON answer into out. It returns the error class, "" on
// success.
func (b *burst) get(ctx context.Context, url, id, hash string, accept bool, buf *bytes.Buffer, out any) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "internal"
	}
	req.Header = http.Header{
		headerContentType: {"application/json"},
		headerAppID:       {b.app},
		headerUserID:      {id},
		headerAuth:        {"Bearer " + hash},
	}
	if accept {
		req.Header[headerAccept] = []string{"application/json"}
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return netClass(err)
	}
	// Read to the end, so the connection goes back to the idle pool.
	buf.Reset()
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	switch {
	case err != nil:
		return netClass(err)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return fmt.Sprintf("http_%d", resp.StatusCode)
	case json.Unmarshal(buf.Bytes(), out) != nil:
		return "invalid_response"
	}
	return ""
}

func (b *burst) fail(step, class string) {
	b.mu.Lock()
	b.errors[step+" "+class]++
	b.mu.Unlock()
}

// netClass names a transport failure.
func netClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no_local_port"
	case errors.Is(err, syscall.EMFILE):
		return "too_many_open_files"
	}
	return "network"
}

// cpuSeconds is this process's user+system CPU so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// maxRSSKiB is this process's peak resident set (Linux reports KiB).
func maxRSSKiB() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Maxrss
}
