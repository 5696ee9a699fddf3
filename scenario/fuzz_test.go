package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. The seeds are the testdata
// fixtures and scenarios/smoke.yaml (plus testdata/fuzz/FuzzParse), which
// also run as ordinary tests. Properties: Parse never panics or hangs; an
// error is an ErrorList of located, non-empty messages that never contain
// the secret; a success marshals to JSON that parses back to the same
// scenario.
//
//	go test -fuzz=FuzzParse ./scenario/
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.yaml")
	seeds = append(seeds, "../scenarios/smoke.yaml")
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(base + "identity: { app_secret: \"${SECRET}\" }\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("/s/f.yaml", data, Options{Getenv: testEnv, Open: testOpen})
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is not a non-empty ErrorList: %T %v", err, err)
			}
			for _, e := range list {
				if e.Msg == "" || e.File == "" {
					t.Errorf("incomplete error: %#v", e)
				}
			}
			if strings.Contains(err.Error(), "Recognisable-Secret") {
				t.Errorf("the secret is in an error: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse succeeded but Validate fails: %v", err)
		}
		checkRoundTrip(t, s)
	})
}
