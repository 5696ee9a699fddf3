package fleet

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind. Tests
// that run alone check their own leaks too (goleak.VerifyNone), which names
// the test; the tests marked t.Parallel (end-to-end runs that mostly wait
// on the clock, run side by side to keep the suite short) rely on this
// check, since each would see the others' goroutines.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
