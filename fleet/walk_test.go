package fleet

import (
	"math"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestPositionsUseTheResolvedCircle walks phones for many steps and checks
// every fix stays within telemetry.radius_km of telemetry.around as given:
// with radius 0, exactly at around (once placed users in Barcelona).
func TestPositionsUseTheResolvedCircle(t *testing.T) {
	tests := []struct {
		name   string
		around [2]float64
		radius float64 // km
	}{
		// Radius 0: every fix is exactly the centre.
		{"radius 0", [2]float64{10, 20}, 0},
		// A small circle far from the default centre.
		{"500 m", [2]float64{-33.8688, 151.2093}, 0.5},
		// Near a pole the longitude scale shrinks; the walk still holds.
		{"near a pole", [2]float64{80, -45}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := scenario.Telemetry{Every: time.Second, Around: tt.around, RadiusKm: tt.radius}
			for i := range 10 {
				d := newDevice(i, &cfg, newRand(uint64(i)+1, domainUser, i))
				for range 200 {
					var f telemetryFix
					d.telemetry(time.Now(), "u", cfg, &f)
					p := f.msg
					dist := distanceKm(tt.around, float64(p.Latitude), float64(p.Longitude))
					if tt.radius == 0 && (p.Latitude != contract.Double(tt.around[0]) || p.Longitude != contract.Double(tt.around[1])) {
						t.Fatalf("user %d at %v,%v, want exactly %v", i, p.Latitude, p.Longitude, tt.around)
					}
					// 1e-3 km: the fix is rounded to 6 decimals (~0.1 m).
					if dist > tt.radius+1e-3 {
						t.Fatalf("user %d at %v,%v: %.4f km from %v, radius %v km", i, p.Latitude, p.Longitude, dist, tt.around, tt.radius)
					}
				}
			}
		})
	}
}

func distanceKm(c [2]float64, lat, lon float64) float64 {
	north := (lat - c[0]) * kmPerDegreeLat
	east := (lon - c[1]) * kmPerDegreeLat * math.Cos(c[0]*math.Pi/180)
	return math.Hypot(north, east)
}

// TestLifecycleWords maps the event spellings of contract §3.7.
func TestLifecycleWords(t *testing.T) {
	tests := []struct{ word, want string }{
		{"triggered", contract.StateActive},
		{" Active ", contract.StateActive},
		{"SOS_ACKNOWLEDGED", contract.StateAcknowledged},
		{"Sos.Acknowledged", contract.StateAcknowledged},
		{"canceled", contract.StateCancelled},
		{"Sos.Cancelled", contract.StateCancelled},
		{"closed", contract.StateResolved},
		{"Sos.Resolved", contract.StateResolved},
		// Not lifecycle words.
		{"position_confirmed", ""},
		{"sos.ack", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := lifecycleState(tt.word); got != tt.want {
			t.Errorf("lifecycleState(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}
