//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package health

import "time"

// processCPU reports false: on this system the monitor falls back to the
// Go runtime's estimate of busy CPU (runtime/metrics total − idle).
func processCPU() (time.Duration, bool) { return 0, false }
