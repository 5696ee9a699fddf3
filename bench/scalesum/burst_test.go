package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/eixamsim/eixamsim/report"
	"github.com/eixamsim/eixamsim/scenario"
)

// series is users.online at the end of each one-second interval.
func series(online ...int64) []report.Point {
	var s []report.Point
	for i, n := range online {
		s = append(s, report.Point{T: float64(i + 1), Seconds: 1, Values: map[string]int64{scenario.UsersOnline: n}})
	}
	return s
}

// burstConnect is report.ConnectOf where that measures the ramp, and the
// same interpolation where the ramp is too short for it.
func TestBurstConnectIsConnectOf(t *testing.T) {
	stages := []report.Stage{{Name: "burst", Users: 10000, From: 0, To: 8}, {Name: "hold", Users: 10000, From: 8, To: 11}}
	long := &report.Summary{Stages: stages, Series: series(2000, 4000, 6000, 8000, 9000, 10000, 10000, 10000)}
	want := report.ConnectOf(long.Stages, long.Series, 5000)
	got := burstConnect(long, 5000)
	if want == nil || got == nil || got.Seconds-want.Seconds > 1e-9 || want.Seconds-got.Seconds > 1e-9 || got.Reached != want.Reached {
		t.Fatalf("6 s ramp: burstConnect %+v, ConnectOf %+v", got, want)
	}

	short := &report.Summary{Stages: stages, Series: series(5000, 10000, 10000)}
	if report.ConnectOf(short.Stages, short.Series, 5000) != nil {
		t.Fatal("ConnectOf now measures a 2 s ramp: burstConnect's stretch is not needed any more")
	}
	// All online at the second sample: the target is reached there (the
	// samples cannot say how far into that second).
	c := burstConnect(short, 5000)
	if c == nil || !c.Reached || c.Seconds != 2 || c.ReachedPerS != 5000 {
		t.Errorf("2 s ramp: %+v, want 2 s and 5000/s", c)
	}
}

// lastLogin takes the last GET /v1/sdk/sos answered with a 2xx.
func TestLastLogin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	log := "1700000000.100 /v1/sdk/me 200\n1700000000.200 /v1/sdk/sos 200\n1700000000.300 /v1/sdk/me 200\n" +
		"1700000000.900 /v1/sdk/sos 503\n1700000000.400 /v1/sdk/sos 200\nnot a line\n"
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	last, n, err := lastLogin(path)
	if err != nil || n != 2 || last != 1700000000.400 {
		t.Errorf("lastLogin = %.3f, %d, %v; want 1700000000.400, 2, nil", last, n, err)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		v    []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5}, // the mean of the middle two
	} {
		if got := median(c.v); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}
