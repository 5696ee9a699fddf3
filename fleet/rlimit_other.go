//go:build !unix

package fleet

import "errors"

// raiseFDLimit is not supported here; the check is skipped.
func raiseFDLimit() (soft, hard int, err error) {
	return 0, 0, errors.New("no rlimit on this platform")
}
