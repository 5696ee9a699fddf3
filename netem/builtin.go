package netem

import "time"

// builtins are the profiles a scenario can name without defining them.
// Each value comes from a public throttling preset; docs/network.md says
// which number comes from where. Keep the two in step.
var builtins = map[string]Profile{
	// WebPageTest "Cable" (28 ms) to comcast "WIFI (good)" (40 ms, 0.2 %
	// loss); Firefox DevTools "Wi-Fi" 30/15 Mbps.
	"wifi": {
		RTT:    Between(28*time.Millisecond, 40*time.Millisecond),
		Jitter: 3 * time.Millisecond,
		Down:   30 * Mbit,
		Up:     15 * Mbit,
		Loss:   0.002,
	},
	// Chrome DevTools "Fast 4G" (60 ms, 9/1.5 Mbps) to WebPageTest "4G"
	// (170 ms, 9 Mbps); both without loss.
	"4g": {
		RTT:    Between(60*time.Millisecond, 170*time.Millisecond),
		Jitter: 6 * time.Millisecond,
		Down:   9 * Mbit,
		Up:     1500 * Kbit,
	},
	// WebPageTest "3G Fast" / Lighthouse (150 ms) to WebPageTest "3G"
	// (300 ms), both 1.6 Mbps / 768 Kbps; comcast "3G/HSDPA (good)" 1.5 %.
	"3g": {
		RTT:    Between(150*time.Millisecond, 300*time.Millisecond),
		Jitter: 15 * time.Millisecond,
		Down:   1600 * Kbit,
		Up:     768 * Kbit,
		Loss:   0.015,
	},
	// comcast "EDGE (good)" (300 ms, 1.5 %) to WebPageTest "Mobile Edge"
	// (840 ms, 240/200 Kbps).
	"edge": {
		RTT:    Between(300*time.Millisecond, 840*time.Millisecond),
		Jitter: 30 * time.Millisecond,
		Down:   240 * Kbit,
		Up:     200 * Kbit,
		Loss:   0.015,
	},
}

// builtinOrder lists the built-in profiles fastest first.
var builtinOrder = []string{"wifi", "4g", "3g", "edge"}

// Builtin returns the built-in profile called name (wifi, 4g, 3g or edge)
// and whether there is one.
func Builtin(name string) (Profile, bool) {
	p, ok := builtins[name]
	return p, ok
}

// BuiltinNames returns the names of the built-in profiles, fastest first.
func BuiltinNames() []string { return append([]string(nil), builtinOrder...) }
