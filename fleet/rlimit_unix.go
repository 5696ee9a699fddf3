//go:build unix

package fleet

import "syscall"

// raiseFDLimit lifts the soft open-files limit to the hard limit and
// returns both.
func raiseFDLimit() (soft, hard int, err error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		}
	}
	return int(lim.Cur), int(lim.Max), nil
}
