package report

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadBaselineRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		dir, want string
	}{
		{filepath.Join(dir, "nope"), "no such file or directory"},
		{dir, "has no summary.json: not a result directory"},
	} {
		if _, err := LoadBaseline(tc.dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadBaseline(%s) = %v; want ...%s", tc.dir, err, tc.want)
		}
	}
}
