package scenario

import "testing"

// TestHashCoversTheLoadOnly: where the load goes (the target), where its
// results go (output.dir, --out), what judges it (thresholds) and the
// description leave the hash alone, so shards run with different --out or
// retargeted at one backend are one scenario; what the users do changes
// it.
func TestHashCoversTheLoadOnly(t *testing.T) {
	hash := func(opts Options) string {
		t.Helper()
		s, err := testParse(staged, opts)
		if err != nil {
			t.Fatal(err)
		}
		return s.Hash()
	}
	h := hash(Options{})
	if again := hash(Options{}); again != h {
		t.Error("two identical loads without a seed hash differently")
	}
	out := "elsewhere/{{.Name}}"
	same := map[string]Options{
		"--out":       {OutDir: &out},
		"a target":    {Set: []string{"target.http=http://10.0.0.1:8080", "target.mqtt=tcp://10.0.0.1:1883"}},
		"faults":      {Set: []string{"target.embedded.ack_delay=2s"}},
		"thresholds":  {Set: []string{`thresholds.telemetry.puback=["p(99) < 1s"]`}},
		"description": {Set: []string{"description=another"}},
	}
	for name, opts := range same {
		if got := hash(opts); got != h {
			t.Errorf("%s changes the hash", name)
		}
	}
	seed := uint64(7)
	for name, opts := range map[string]Options{
		"a seed":      {Seed: &seed},
		"a behaviour": {Set: []string{"behaviours.telemetry.every=3s"}},
		"connect":     {Set: []string{"fleet.connect_rate=50/s"}},
	} {
		if got := hash(opts); got == h {
			t.Errorf("%s leaves the hash alone", name)
		}
	}
}
