package health

// ReportOf is the Report of samples (in time order) taken elsewhere, such
// as in another process, judged by lim: the verdict and the statistics a
// Monitor's Report gives for the same samples, without the whole-run
// values only a Monitor's own runtime readings give (Cores, the scheduler
// latency over the whole run, the longest GC pause, mean CPU).
func ReportOf(samples []Sample, lim Limits) Report {
	j := newJudge(lim)
	for _, s := range samples {
		j.add(s)
	}
	return j.report()
}
