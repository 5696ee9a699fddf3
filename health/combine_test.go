package health

import (
	"testing"
	"time"
)

func TestFoldIsTheWorstProcess(t *testing.T) {
	a := Report{SampledS: 10, CPU: CPUStats{PeakPct: 90, OverS: 2}, SchedLatency: SchedStats{P99MS: 3, PeakP99MS: 30, OverS: 1},
		Backpressure: BackpressureStats{Dropped: 1, Attempts: 100, PeakSharePct: 5}, GCPause: GCStats{TotalMS: 4, MaxMS: 2}}
	b := Report{SampledS: 12, CPU: CPUStats{PeakPct: 50, OverS: 5}, SchedLatency: SchedStats{P99MS: 9, PeakP99MS: 10},
		ScheduleLag: LagStats{PeakP99MS: 7, OverS: 3}, Backpressure: BackpressureStats{Dropped: 3, Attempts: 300, PeakSharePct: 1},
		GCPause: GCStats{TotalMS: 6, MaxMS: 5, PeakPct: 1}}
	a.LateArrivals = LateStats{Dropped: 10, Arrivals: 1000, PeakSharePct: 4, OverS: 1}
	b.LateArrivals = LateStats{Dropped: 290, Arrivals: 1000, PeakSharePct: 60, OverS: 6}
	a.Connect = &RampStats{Seconds: 3, SaturatedS: 3, ReachedPct: 33, LimitPct: 50}
	b.Connect = &RampStats{Seconds: 2, ReachedPct: 90, LimitPct: 50}
	var r Report
	r.Fold(a)
	r.Fold(b)
	r.FinishFolding()
	if want := (LateStats{Dropped: 300, Arrivals: 2000, SharePct: 15, PeakSharePct: 60, OverS: 6}); r.LateArrivals != want {
		t.Errorf("late arrivals %+v, want %+v", r.LateArrivals, want)
	}
	if r.Connect == nil || *r.Connect != *a.Connect || r.Connect == a.Connect {
		t.Errorf("connect %+v, want a copy of the slowest process's %+v", r.Connect, a.Connect)
	}
	want := Report{SampledS: 12, CPU: CPUStats{PeakPct: 90, OverS: 5}, SchedLatency: SchedStats{P99MS: 9, PeakP99MS: 30, OverS: 1},
		ScheduleLag: LagStats{PeakP99MS: 7, OverS: 3}, Backpressure: BackpressureStats{Dropped: 4, Attempts: 400, SharePct: 1, PeakSharePct: 5},
		GCPause: GCStats{TotalMS: 10, MaxMS: 5, PeakPct: 1}}
	if r.SampledS != want.SampledS || r.CPU != want.CPU || r.SchedLatency != want.SchedLatency || r.ScheduleLag != want.ScheduleLag ||
		r.Backpressure != want.Backpressure || r.GCPause != want.GCPause {
		t.Errorf("folded %+v\nwant   %+v", r, want)
	}
}

func TestReportOfWeighsMeanCPUByInterval(t *testing.T) {
	r := ReportOf([]Sample{
		{At: time.Second, Interval: time.Second, CPU: 0.5},
		{At: 4 * time.Second, Interval: 3 * time.Second, CPU: 1},
	}, DefaultLimits())
	if r.CPU.MeanPct != 87.5 || r.CPU.PeakPct != 100 {
		t.Errorf("cpu %+v, want mean 87.5 %% (weighted by interval) and peak 100 %%", r.CPU)
	}
}

func TestWorst(t *testing.T) {
	for _, tc := range []struct {
		in   []State
		want State
	}{
		{nil, Healthy},
		{[]State{Healthy, Healthy}, Healthy},
		{[]State{Healthy, NotJudged}, NotJudged},
		{[]State{NotJudged, GeneratorBound, Healthy}, GeneratorBound},
	} {
		if got := Worst(tc.in...); got != tc.want {
			t.Errorf("Worst(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
