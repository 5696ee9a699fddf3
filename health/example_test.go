package health_test

import (
	"fmt"
	"time"

	"github.com/eixamsim/eixamsim/health"
)

// The issue's run: 2,000 users, telemetry every 100 ms, embedded backend.
// Past the warm-up the Go scheduler keeps goroutines waiting 100+ ms and
// ticks start 400+ ms late.
func ExampleJudge() {
	var samples []health.Sample
	for sec := 1; sec <= 20; sec++ {
		samples = append(samples, health.Sample{
			At:       time.Duration(sec) * time.Second,
			Interval: time.Second,
			CPU:      0.88,
			SchedP99: 134 * time.Millisecond,
			Input:    health.Input{ScheduleLagP99: 468 * time.Millisecond, Attempts: 18000, Backpressure: 120},
		})
	}
	v := health.Judge(samples, health.DefaultLimits())
	fmt.Println(v.State)
	for _, r := range v.Reasons {
		fmt.Println(r.Message)
	}
	// Output:
	// generator_bound
	// Go scheduler latency p99 over 20ms for 15s from 5s (peak 134ms)
	// schedule.lag p99 over 100ms for 15s from 5s (peak 468ms)
}
