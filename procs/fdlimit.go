package procs

import "syscall"

// FDLimit is this process's open-files limit (Go raises the soft limit to
// the hard one at start): what Auto divides a run's connections by.
func FDLimit() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 1024
	}
	return int(lim.Cur)
}
