//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package health

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the process has used,
// as the kernel counts it, and true.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
