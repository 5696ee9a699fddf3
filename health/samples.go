package health

// ReportOf is the Report of samples (in time order) taken elsewhere, such
// as in another process, judged by lim: the verdict and the statistics a
// Monitor's Report gives for the same samples, without the whole-run
// values only a Monitor's own runtime readings give (Cores, the scheduler
// latency over the whole run, the longest GC pause). Its mean CPU is the
// samples' own, weighted by their intervals.
func ReportOf(samples []Sample, lim Limits) Report {
	j := newJudge(lim)
	var cpu, wall float64
	for _, s := range samples {
		j.add(s)
		cpu += s.CPU * s.Interval.Seconds()
		wall += s.Interval.Seconds()
	}
	r := j.report()
	if wall > 0 {
		r.CPU.MeanPct = pct(cpu / wall)
	}
	return r
}
