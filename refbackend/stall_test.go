package refbackend

import (
	"context"
	"encoding/json"
	"github.com/eixamsim/eixamsim/faults"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/contract"
)

// getAt sends GET /v1/sdk/me as id and returns the status and when the
// answer arrived; status 0 if the request failed.
func getAt(c *http.Client, base string, id identity) (int, time.Time) {
	req, _ := http.NewRequest("GET", base+contract.PathMe, nil)
	req.Header.Set(contract.HeaderAppID, id.app)
	req.Header.Set(contract.HeaderUserID, id.user)
	req.Header.Set("Authorization", "Bearer "+id.hash)
	resp, err := c.Do(req)
	if err != nil {
		return 0, time.Now()
	}
	defer resp.Body.Close()
	var me contract.Me
	if json.NewDecoder(resp.Body).Decode(&me) != nil {
		return 0, time.Now()
	}
	return resp.StatusCode, time.Now()
}

func testHTTPClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func TestStallHTTPHoldsUntilTheEnd(t *testing.T) {
	const stallFor = 300 * time.Millisecond
	// Request 0 is sent before the stall and is usually in its injected
	// latency when the stall starts (held before its answer), else held on
	// arrival; requests 1-3 arrive during the stall. All wait for its end.
	s := startServer(t, func(c *Config) {
		c.Faults.EndpointLatency = map[string]faults.Latency{contract.EndpointMe: {Kind: faults.LatencyFixed, Fixed: 100 * time.Millisecond}}
	})
	c := testHTTPClient(t)
	id := signed(app1, secret1, "user-1")
	var wg sync.WaitGroup
	answered := make([]time.Time, 4)
	statuses := make([]int, 4)
	get := func(i int) { statuses[i], answered[i] = getAt(c, s.HTTPURL(), id) }
	wg.Go(func() { get(0) })
	time.Sleep(20 * time.Millisecond) // let request 0 leave; not an assertion
	until := s.StallHTTP(stallFor)
	for i := 1; i < len(answered); i++ {
		wg.Go(func() { get(i) })
	}
	wg.Wait()
	for i, at := range answered {
		if statuses[i] != 200 {
			t.Errorf("request %d: status %d", i, statuses[i])
		}
		if at.Before(until) {
			t.Errorf("request %d answered %v before the stall ended", i, until.Sub(at))
		}
	}
	st := s.Stats().HTTP
	if st.Stalls != 1 || st.StalledNow != 0 || st.StalledRequests != 4 {
		t.Errorf("stalls %d stalled_requests %d stalled_now %d", st.Stalls, st.StalledRequests, st.StalledNow)
	}
	// After the stall, requests are not held.
	if status, _ := getAt(c, s.HTTPURL(), id); status != 200 {
		t.Errorf("after the stall: %d", status)
	}
	if n := s.Stats().HTTP.StalledRequests; n != st.StalledRequests {
		t.Errorf("a request after the stall was held (%d)", n)
	}
}

func TestStallHTTPReleaseAndDebugStats(t *testing.T) {
	const n = 5
	s := startServer(t, nil)
	c := testHTTPClient(t)
	id := signed(app1, secret1, "user-1")
	until := s.StallHTTP(time.Hour)
	if end := s.StallHTTP(time.Minute); !end.Equal(until) || s.Stats().HTTP.Stalls != 1 {
		t.Errorf("a shorter stall changed the current one: end %v, was %v", end, until)
	}
	done := make(chan int, n)
	for range n {
		go func() { status, _ := getAt(c, s.HTTPURL(), id); done <- status }()
	}
	// /debug/stats is never stalled: it shows the held requests.
	stats := newAPIClient(t, s, id)
	eventually(t, "5 held requests in /debug/stats", func() bool {
		var st Stats
		stats.do(t, "GET", "/debug/stats", nil).decode(t, &st)
		return st.HTTP.StalledNow == n
	})
	select {
	case status := <-done:
		t.Fatalf("a request was answered (%d) during the stall", status)
	default:
	}
	if end := s.StallHTTP(0); !end.IsZero() {
		t.Errorf("StallHTTP(0) = %v", end)
	}
	for range n {
		if status := <-done; status != 200 {
			t.Errorf("released request: %d", status)
		}
	}
	if st := s.Stats().HTTP; st.StalledRequests != n || st.StalledNow != 0 || st.Stalls != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestStallHTTPCutShortByClose(t *testing.T) {
	s, err := Start(context.Background(), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	c := testHTTPClient(t)
	s.StallHTTP(time.Hour)
	done := make(chan int, 1)
	go func() { status, _ := getAt(c, s.HTTPURL(), signed(app1, secret1, "u")); done <- status }()
	eventually(t, "held request", func() bool { return s.Stats().HTTP.StalledNow == 1 })
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Close waited for the stall")
	}
	if status := <-done; status != 0 {
		t.Errorf("held request answered %d after Close", status)
	}
}
