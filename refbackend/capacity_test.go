package refbackend

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/faults"
)

// TestServiceQueueTimeline checks the queue's arithmetic on its own
// timeline: FIFO, one service time each, refusal past the bound.
func TestServiceQueueTimeline(t *testing.T) {
	ms := time.Millisecond
	q := newServiceQueue("telemetry", 100, 25*ms, time.Now()) // 10 ms each, wait at most 25 ms
	steps := []struct {
		at   time.Duration // arrival
		done time.Duration // want: done this long after arrival; 0 = refused
	}{
		{0, 10 * ms},             // idle: service only
		{0, 20 * ms},             // waits 10 ms
		{5 * ms, 25 * ms},        // waits 15 ms
		{5 * ms, 35 * ms},        // waits 25 ms, the bound: admitted
		{5 * ms, 0},              // would wait 35 ms: refused, costs nothing
		{20 * ms, 30 * ms},       // waits 20 ms (free at 40 ms)
		{24 * ms, 0},             // would wait 26 ms: refused
		{100 * ms, 10 * ms},      // idle again
		{100 * ms, 20 * ms},      // waits 10 ms
		{1000 * ms, 10 * ms},     // long idle: no credit saved up…
		{1000 * ms, 20 * ms},     // …so the next one waits
		{1000 * ms, 30 * ms},     // waits 20 ms
		{1004 * ms, 0},           // would wait 26 ms: refused
		{1005 * ms, 35 * ms},     // waits 25 ms: admitted
		{1040 * ms, 10 * ms},     // free at 1040 ms: no wait
		{1040*ms + 1, 20*ms - 1}, // waits 10 ms − 1 ns
	}
	var served, refused int64
	var waits time.Duration
	for i, st := range steps {
		done, ok := q.admit(st.at)
		if ok != (st.done != 0) || done != st.done {
			t.Fatalf("step %d: arrival at %v: done after %v (admitted %v), want %v", i, st.at, done, ok, st.done)
		}
		if ok {
			served++
			waits += done - q.service
		} else {
			refused++
		}
	}
	got := q.snapshot()
	if got.InQueue != served || got.Refused != refused || got.Served != 0 || got.QueueDelayTotal != waits || got.QueueDelayMax != 25*ms {
		t.Errorf("stats %+v: want in_queue %d, refused %d, served 0 (nothing slept), delay total %v, max 25ms", got, served, refused, waits)
	}
	if got.Rate != 100 || got.QueueBound != 25*ms {
		t.Errorf("rate %v, bound %v", got.Rate, got.QueueBound)
	}
}

// TestCapacityResourceRouting checks which queue each kind of work uses.
func TestCapacityResourceRouting(t *testing.T) {
	if m := newCapacity(faults.Capacity{}, time.Now()); m != nil || m.forEndpoint(contract.EndpointMe) != nil || m.stats() != nil {
		t.Fatal("the zero Capacity must build no model")
	}
	c, err := faults.ParseCapacity("http=5/s,http.contacts_list=1/s,sos=2/s")
	if err != nil {
		t.Fatal(err)
	}
	m := newCapacity(c, time.Now())
	if m.telemetry != nil || m.sos == nil || m.sos.name != "sos" {
		t.Errorf("telemetry %v, sos %v", m.telemetry, m.sos)
	}
	for _, ep := range contract.EndpointNames() {
		want := "http"
		if ep == contract.EndpointContactsList {
			want = "http.contacts_list"
		}
		if q := m.forEndpoint(ep); q == nil || q.name != want {
			t.Errorf("endpoint %s uses %v, want %s", ep, q, want)
		}
	}
	only, _ := faults.ParseCapacity("http.me=1/s")
	m = newCapacity(only, time.Now())
	if m.forEndpoint(contract.EndpointMe) == nil || m.forEndpoint(contract.EndpointSOSGet) != nil {
		t.Error("with only http.me, other endpoints must be unlimited")
	}
	if _, err := Start(context.Background(), Config{HTTPAddr: "127.0.0.1:0", Apps: testConfig().Apps,
		Capacity: faults.Capacity{Rates: map[string]float64{"telemtry": 1}}}); err == nil || !strings.Contains(err.Error(), "did you mean telemetry") {
		t.Errorf("Start with a bad capacity: %v", err)
	}
}

// paced sends n pieces of work, the i-th at start + i×interval, each on
// its own goroutine, and waits for them all. It returns when the first and
// the last were sent.
func paced(n int, interval time.Duration, send func(i int)) (start, last time.Time) {
	start = time.Now()
	var wg sync.WaitGroup
	for i := range n {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(i)
		}()
	}
	last = time.Now()
	wg.Wait()
	return start, last
}

// median of ds (0 for none).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// within reports whether got is within frac of want.
func within(got, want, frac float64) bool {
	return math.Abs(got-want) <= frac*want
}

// httpOutcome is one request of a paced HTTP load.
type httpOutcome struct {
	sent    time.Time
	latency time.Duration
	status  int
	body    string
	retry   string
}

// httpLoad sends n GET /v1/sdk/me as one user, one every interval.
func httpLoad(t *testing.T, s *Server, n int, interval time.Duration) ([]httpOutcome, time.Time, time.Time) {
	t.Helper()
	id := signed(app1, secret1, "cap-http")
	tr := &http.Transport{MaxIdleConnsPerHost: 512}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: waitFor}
	out := make([]httpOutcome, n)
	first, last := paced(n, interval, func(i int) {
		req, err := http.NewRequest(http.MethodGet, s.HTTPURL()+contract.PathMe, nil)
		if err != nil {
			t.Error(err)
			return
		}
		req.Header.Set(contract.HeaderAppID, id.app)
		req.Header.Set(contract.HeaderUserID, id.user)
		req.Header.Set("Authorization", "Bearer "+id.hash)
		o := httpOutcome{sent: time.Now()}
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("request %d: %v", i, err)
			return
		}
		o.body = readAll(resp)
		o.latency, o.status, o.retry = time.Since(o.sent), resp.StatusCode, resp.Header.Get("Retry-After")
		out[i] = o
	})
	return out, first, last
}

// readAll reads and closes the body of resp.
func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestCapacityHTTP offers GET /v1/sdk/me at half and at twice the http
// rate over real HTTP and checks what a saturated backend does: below the
// rate every request is served in about one service time; above it
// throughput is the rate, the excess is refused with 503, and the served
// requests wait about the queue bound.
func TestCapacityHTTP(t *testing.T) {
	const rate = 200.0 // per second: 5 ms of service each
	const bound = 250 * time.Millisecond
	service := time.Duration(float64(time.Second) / rate)
	start := func(t *testing.T) *Server {
		return startServer(t, func(c *Config) {
			c.MQTTAddr, c.WSAddr = "", ""
			c.Capacity = faults.Capacity{Rates: map[string]float64{faults.ResourceHTTP: rate}, Queue: bound}
		})
	}

	t.Run("half the rate", func(t *testing.T) {
		s := start(t)
		const n = 200 // 2 s at 100/s
		out, _, _ := httpLoad(t, s, n, time.Duration(float64(time.Second)/(rate/2)))
		var lat []time.Duration
		for i, o := range out {
			if o.status != http.StatusOK {
				t.Fatalf("request %d: status %d (%s), want 200", i, o.status, o.body)
			}
			lat = append(lat, o.latency)
		}
		t.Logf("median latency %v (service time %v)", median(lat), service)
		st := s.Stats().Capacity["http"]
		if st.Served != n || st.Refused != 0 || st.InQueue != 0 {
			t.Errorf("stats %+v: want %d served, none refused or queued", st, n)
		}
		// Latency ≈ the service time: never less, and far below the bound.
		if m := median(lat); m < service || m > service+40*time.Millisecond {
			t.Errorf("median latency %v, want about the service time %v", m, service)
		}
		if mean := st.QueueDelayTotal / time.Duration(st.Served); mean > service {
			t.Errorf("mean queueing delay %v, want below one service time %v", mean, service)
		}
	})

	t.Run("twice the rate", func(t *testing.T) {
		s := start(t)
		const n = 1200 // 3 s at 400/s
		out, first, last := httpLoad(t, s, n, time.Duration(float64(time.Second)/(2*rate)))
		offerFor := last.Sub(first).Seconds()
		if offered := float64(n) / offerFor; offered < 1.5*rate {
			t.Fatalf("offered only %.0f/s (for %.2fs), want about %.0f/s: the machine could not keep the pace", offered, offerFor, 2*rate)
		}
		var ok, refused int64
		var late []time.Duration // latencies of the served requests once the queue filled
		for i, o := range out {
			switch o.status {
			case http.StatusOK:
				ok++
				if o.sent.Sub(first) > time.Second {
					late = append(late, o.latency)
				}
			case http.StatusServiceUnavailable:
				refused++
				if o.body != `{"error":"over capacity: http"}`+"\n" || o.retry != "1" {
					t.Errorf("request %d: refusal body %q, Retry-After %q", i, o.body, o.retry)
				}
			default:
				t.Fatalf("request %d: status %d (%s)", i, o.status, o.body)
			}
		}
		st := s.Stats()
		c := st.Capacity["http"]
		if c.Served != ok || c.Refused != refused || c.InQueue != 0 || st.HTTP.Requests[contract.EndpointMe][503] != refused {
			t.Errorf("stats %+v (503s %d): want %d served, %d refused", c, st.HTTP.Requests[contract.EndpointMe][503], ok, refused)
		}
		// Throughput = the rate: what was served is the rate times the
		// time offered plus the queue that was full at the end.
		wantServed := rate*offerFor + rate*bound.Seconds()
		t.Logf("offered %d in %.2fs; served %d (model %.0f), refused %d (model %.0f), median late latency %v, longest wait %v",
			n, offerFor, ok, wantServed, refused, float64(n)-wantServed, median(late), c.QueueDelayMax)
		if !within(float64(ok), wantServed, 0.10) {
			t.Errorf("served %d in %.2fs, want %.0f ± 10%% (%.0f/s and a full queue)", ok, offerFor, wantServed, rate)
		}
		if wantRefused := float64(n) - wantServed; !within(float64(refused), wantRefused, 0.10) {
			t.Errorf("refused %d, want the excess %.0f ± 10%%", refused, wantRefused)
		}
		// The served requests waited the queue bound.
		if m := median(late); m < bound-30*time.Millisecond || m > bound+service+80*time.Millisecond {
			t.Errorf("median latency of the served requests %v, want about the queue bound %v", m, bound)
		}
		if c.QueueDelayMax > bound || c.QueueDelayMax < bound-10*time.Millisecond {
			t.Errorf("longest queueing delay %v, want just under the bound %v", c.QueueDelayMax, bound)
		}
	})
}

// mqttOutcome is one publish of a paced MQTT load.
type mqttOutcome struct {
	sent    time.Time
	latency time.Duration
	reason  byte
}

// mqttLoad connects users clients and publishes n telemetry messages
// round-robin over them, one every interval overall.
func mqttLoad(t *testing.T, s *Server, users, n int, interval time.Duration) ([]mqttOutcome, time.Time, time.Time) {
	t.Helper()
	type pub struct {
		c     *mqttClient
		topic string
	}
	pubs := make([]pub, users)
	for i := range pubs {
		id := signed(app1, secret1, fmt.Sprintf("cap-mqtt-%d", i))
		pubs[i] = pub{mustConnect(t, s, id), contract.TelemetryTopic(id.user)}
	}
	payload := telemetry(41.39, 2.17)
	out := make([]mqttOutcome, n)
	first, last := paced(n, interval, func(i int) {
		p := pubs[i%users]
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		o := mqttOutcome{sent: time.Now()}
		pr, err := p.c.Publish(ctx, &paho.Publish{Topic: p.topic, QoS: 1, Payload: payload})
		if pr == nil {
			t.Errorf("publish %d: no PUBACK: %v", i, err)
			return
		}
		o.latency, o.reason = time.Since(o.sent), pr.ReasonCode
		out[i] = o
	})
	return out, first, last
}

// TestCapacityMQTT is TestCapacityHTTP for telemetry over the real broker:
// a refused publish gets PUBACK 0x97 and is not recorded. A held publish
// holds its client's next packets, so the saturated case uses more clients
// than the queue holds messages (see docs/refbackend.md).
func TestCapacityMQTT(t *testing.T) {
	const rate = 100.0 // per second: 10 ms of service each
	const bound = 200 * time.Millisecond
	service := time.Duration(float64(time.Second) / rate)
	start := func(t *testing.T) *Server {
		return startServer(t, func(c *Config) {
			c.WSAddr, c.HTTPAddr = "", ""
			c.Capacity = faults.Capacity{Rates: map[string]float64{faults.ResourceTelemetry: rate}, Queue: bound}
		})
	}

	t.Run("half the rate", func(t *testing.T) {
		s := start(t)
		const n = 100 // 2 s at 50/s over 10 clients
		out, _, _ := mqttLoad(t, s, 10, n, time.Duration(float64(time.Second)/(rate/2)))
		var lat []time.Duration
		for i, o := range out {
			if o.reason != 0 {
				t.Fatalf("publish %d: PUBACK 0x%02x, want success", i, o.reason)
			}
			lat = append(lat, o.latency)
		}
		t.Logf("median latency %v (service time %v)", median(lat), service)
		st := s.Stats()
		c := st.Capacity["telemetry"]
		if c.Served != n || c.Refused != 0 || st.Telemetry.Accepted != n {
			t.Errorf("capacity %+v, telemetry accepted %d: want %d served and accepted, none refused", c, st.Telemetry.Accepted, n)
		}
		if m := median(lat); m < service || m > service+40*time.Millisecond {
			t.Errorf("median PUBACK latency %v, want about the service time %v", m, service)
		}
		if mean := c.QueueDelayTotal / time.Duration(c.Served); mean > service {
			t.Errorf("mean queueing delay %v, want below one service time %v", mean, service)
		}
	})

	t.Run("twice the rate", func(t *testing.T) {
		s := start(t)
		const n = 600 // 3 s at 200/s over 50 clients (4/s each); the queue holds 20
		out, first, last := mqttLoad(t, s, 50, n, time.Duration(float64(time.Second)/(2*rate)))
		offerFor := last.Sub(first).Seconds()
		if offered := float64(n) / offerFor; offered < 1.5*rate {
			t.Fatalf("offered only %.0f/s (for %.2fs), want about %.0f/s: the machine could not keep the pace", offered, offerFor, 2*rate)
		}
		var ok, refused int64
		var late []time.Duration
		for i, o := range out {
			switch o.reason {
			case 0:
				ok++
				if o.sent.Sub(first) > time.Second {
					late = append(late, o.latency)
				}
			case 0x97:
				refused++
			default:
				t.Fatalf("publish %d: PUBACK 0x%02x, want 0 or 0x97", i, o.reason)
			}
		}
		st := s.Stats()
		c := st.Capacity["telemetry"]
		if c.Served != ok || c.Refused != refused || st.Telemetry.Accepted != ok || st.Telemetry.Rejected != 0 {
			t.Errorf("capacity %+v, telemetry %+v: want %d served and accepted, %d refused", c, st.Telemetry, ok, refused)
		}
		wantServed := rate*offerFor + rate*bound.Seconds()
		t.Logf("offered %d in %.2fs; served %d (model %.0f), refused %d (model %.0f), median late latency %v, longest wait %v",
			n, offerFor, ok, wantServed, refused, float64(n)-wantServed, median(late), c.QueueDelayMax)
		if !within(float64(ok), wantServed, 0.10) {
			t.Errorf("served %d in %.2fs, want %.0f ± 10%% (%.0f/s and a full queue)", ok, offerFor, wantServed, rate)
		}
		if wantRefused := float64(n) - wantServed; !within(float64(refused), wantRefused, 0.10) {
			t.Errorf("refused %d, want the excess %.0f ± 10%%", refused, wantRefused)
		}
		if m := median(late); m < bound-40*time.Millisecond || m > bound+service+80*time.Millisecond {
			t.Errorf("median PUBACK latency of the served publishes %v, want about the queue bound %v", m, bound)
		}
	})
}

// TestCapacityRefusals checks a refusal of each kind one at a time: an SOS
// alert (PUBACK 0x97, no incident) and an endpoint with its own resource
// (503 there, other endpoints unlimited), and the JSON of /debug/stats.
func TestCapacityRefusals(t *testing.T) {
	s := startServer(t, func(c *Config) {
		c.Capacity = faults.Capacity{Rates: map[string]float64{"sos": 1, "http.contacts_list": 1}, Queue: 100 * time.Millisecond}
	})
	// One second of service each: while the first is served, the next
	// would wait ~1 s > 100 ms.
	u1, u2 := signed(app1, secret1, "cap-1"), signed(app1, secret1, "cap-2")
	c1, c2 := mustConnect(t, s, u1), mustConnect(t, s, u2)
	inService := func(resource string) func() bool {
		return func() bool { return s.Stats().Capacity[resource].InQueue == 1 }
	}
	first := make(chan byte, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		pr, err := c1.Publish(ctx, &paho.Publish{Topic: contract.TopicSOSAlerts, QoS: 1, Payload: alert(41, 2)})
		if pr == nil {
			t.Errorf("first alert: %v", err)
			first <- 0xff
			return
		}
		first <- pr.ReasonCode
	}()
	eventually(t, "the first alert in service", inService("sos"))
	if code := c2.publish(t, contract.TopicSOSAlerts, alert(41, 2)); code != 0x97 {
		t.Errorf("second alert: PUBACK 0x%02x, want 0x97 quota exceeded", code)
	}
	if code := <-first; code != 0 {
		t.Errorf("first alert: PUBACK 0x%02x, want success", code)
	}
	st := s.Stats()
	if st.SOS.AlertsAccepted != 1 || st.SOS.IncidentsOpened != 1 || st.Capacity["sos"].Served != 1 || st.Capacity["sos"].Refused != 1 {
		t.Errorf("sos %+v, capacity %+v", st.SOS, st.Capacity["sos"])
	}
	if inc := newAPIClient(t, s, u2).do(t, http.MethodGet, contract.PathSOS, nil).incident(t); inc != nil {
		t.Errorf("a refused alert opened incident %+v", inc)
	}

	a1, a2 := newAPIClient(t, s, u1), newAPIClient(t, s, u2)
	done := make(chan response, 1)
	go func() { done <- a1.doQuiet(http.MethodGet, contract.PathContacts) }()
	eventually(t, "the first list in service", inService("http.contacts_list"))
	r := a2.do(t, http.MethodGet, contract.PathContacts, nil)
	wantStatus(t, "second contacts list", r, http.StatusServiceUnavailable)
	if msg := r.errorMessage(t); msg != "over capacity: http.contacts_list" {
		t.Errorf("refusal message %q", msg)
	}
	began := time.Now()
	wantStatus(t, "me (no resource of its own, no http resource)", a2.do(t, http.MethodGet, contract.PathMe, nil), http.StatusOK)
	if d := time.Since(began); d > 500*time.Millisecond {
		t.Errorf("an unlimited endpoint took %v", d)
	}
	if r := <-done; r.status != http.StatusOK {
		t.Errorf("first contacts list: status %d (%s)", r.status, r.body)
	}

	// /debug/stats carries the model; a server without one omits it.
	raw := a1.doQuiet(http.MethodGet, statsPath+"?per_user=false")
	var body struct {
		Capacity map[string]map[string]json.Number `json:"capacity"`
	}
	if err := json.Unmarshal(raw.body, &body); err != nil {
		t.Fatal(err)
	}
	list := body.Capacity["http.contacts_list"]
	if list["served"] != "1" || list["refused"] != "1" || list["rate_per_second"] != "1" || list["queue_bound_ns"] != "100000000" {
		t.Errorf("stats JSON capacity: %v", body.Capacity)
	}
	plain := startServer(t, nil)
	if r := newAPIClient(t, plain, u1).doQuiet(http.MethodGet, statsPath); strings.Contains(string(r.body), `"capacity"`) {
		t.Errorf("stats of a server without a model mention capacity: %s", r.body)
	}
}

// doQuiet is do for a goroutine other than the test's: it reports failures
// in the response (status 0) instead of failing the test.
func (a *apiClient) doQuiet(method, path string) response {
	req, err := http.NewRequest(method, a.base+path, nil)
	if err != nil {
		return response{body: []byte(err.Error())}
	}
	req.Header.Set(contract.HeaderAppID, a.id.app)
	req.Header.Set(contract.HeaderUserID, a.id.user)
	req.Header.Set("Authorization", "Bearer "+a.id.hash)
	resp, err := a.c.Do(req)
	if err != nil {
		return response{body: []byte(err.Error())}
	}
	return response{resp.StatusCode, resp.Header, []byte(readAll(resp))}
}

// BenchmarkServiceQueueAdmit is the model's cost per piece of work on the
// hot path (admitted or refused; the sleep not included).
func BenchmarkServiceQueueAdmit(b *testing.B) {
	q := newServiceQueue("telemetry", 2000, time.Second, time.Now())
	b.ReportAllocs()
	for b.Loop() {
		q.admit(time.Since(q.base))
	}
}
