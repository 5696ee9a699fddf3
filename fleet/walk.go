package fleet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/scenario"
)

const kmPerDegreeLat = 111.32

// device is the simulated state of one phone and its paired tag: a
// position that random-walks inside a circle, batteries that drain, and a
// stable hardware id.
type device struct {
	rng                            *rand.Rand // the user's source
	centerLat, centerLon, radiusKm float64
	lat, lon, alt                  float64
	mobileBattery, deviceBattery   float64
	hardwareID                     string
}

// newDevice returns user index's phone, placed uniformly at random (from
// rng, which the device keeps for its walk: guard it as the device) within
// t.RadiusKm of t.Around, exactly as resolved (radius 0: exactly at
// Around). Without a telemetry block (t nil) the scenario gives no
// position, and the phone sits at the zero Telemetry's: latitude 0,
// longitude 0, radius 0.
func newDevice(index int, t *scenario.Telemetry, rng *rand.Rand) device {
	d := device{
		rng:           rng,
		mobileBattery: 40 + 60*rng.Float64(),
		deviceBattery: 40 + 60*rng.Float64(),
		alt:           float64(rng.IntN(800)),
		// Six colon-separated hex bytes, like the SDK's canonical hardware id
		// (contract §2.9); unique per user.
		hardwareID: fmt.Sprintf("CF:82:%02X:%02X:%02X:%02X", byte(index>>24), byte(index>>16), byte(index>>8), byte(index)),
	}
	if t != nil {
		d.centerLat, d.centerLon, d.radiusKm = t.Around[0], t.Around[1], t.RadiusKm
	}
	// Uniform over the disc: sqrt of a uniform radius fraction.
	r := d.radiusKm * math.Sqrt(rng.Float64())
	theta := 2 * math.Pi * rng.Float64()
	d.lat, d.lon = d.offset(r*math.Cos(theta), r*math.Sin(theta))
	return d
}

// offset returns the point northKm north and eastKm east of the centre.
func (d *device) offset(northKm, eastKm float64) (lat, lon float64) {
	lat = d.centerLat + northKm/kmPerDegreeLat
	lon = d.centerLon + eastKm/(kmPerDegreeLat*math.Cos(d.centerLat*math.Pi/180))
	return lat, lon
}

// step moves the phone up to ~50 m and drains the batteries a little. A step
// that would leave the circle is taken the other way instead, and if that
// leaves it too (always, with radius 0) the phone stays where it is.
func (d *device) step() {
	dLat := (d.rng.Float64()*2 - 1) * 0.05 / kmPerDegreeLat
	dLon := (d.rng.Float64()*2 - 1) * 0.05 / (kmPerDegreeLat * math.Cos(d.centerLat*math.Pi/180))
	switch {
	case d.inside(d.lat+dLat, d.lon+dLon):
		d.lat, d.lon = clamp(d.lat+dLat, -90, 90), clamp(d.lon+dLon, -180, 180)
	case d.inside(d.lat-dLat, d.lon-dLon):
		d.lat, d.lon = clamp(d.lat-dLat, -90, 90), clamp(d.lon-dLon, -180, 180)
	}
	d.alt = math.Max(0, d.alt+(d.rng.Float64()*2-1)*2)
	d.mobileBattery = math.Max(1, d.mobileBattery-0.02*d.rng.Float64())
	d.deviceBattery = math.Max(1, d.deviceBattery-0.01*d.rng.Float64())
}

// inside reports whether a point is within the walk's circle.
func (d *device) inside(lat, lon float64) bool {
	north := (lat - d.centerLat) * kmPerDegreeLat
	east := (lon - d.centerLon) * kmPerDegreeLat * math.Cos(d.centerLat*math.Pi/180)
	return math.Hypot(north, east) <= d.radiusKm
}

func clamp(v, lo, hi float64) float64 { return math.Min(hi, math.Max(lo, v)) }

// round keeps n decimals, like a phone's GPS fix printed by Dart.
func round(v float64, n int) float64 {
	p := math.Pow(10, float64(n))
	return math.Round(v*p) / p
}

// telemetryFix is one telemetry payload with room for its optional
// fields, so that filling it allocates nothing.
type telemetryFix struct {
	msg                            contract.Telemetry
	mobileBattery, deviceBattery   contract.Double
	mobileCoverage, deviceCoverage int
}

// telemetry fills f with the next telemetry payload (contract §3.6),
// stepping the walk first. userID is the canonical id.
func (d *device) telemetry(now time.Time, userID string, t scenario.Telemetry, f *telemetryFix) {
	d.step()
	f.msg = contract.Telemetry{
		Timestamp: contract.Timestamp(now),
		Latitude:  contract.Double(round(d.lat, 6)),
		Longitude: contract.Double(round(d.lon, 6)),
		Altitude:  contract.Double(round(d.alt, 1)),
		UserID:    userID,
	}
	if t.DeviceID {
		f.msg.DeviceID = d.hardwareID
	}
	if t.Battery {
		f.mobileBattery, f.deviceBattery = contract.Double(round(d.mobileBattery, 1)), contract.Double(round(d.deviceBattery, 1))
		f.mobileCoverage, f.deviceCoverage = 2+d.rng.IntN(3), 1+d.rng.IntN(4)
		f.msg.MobileBattery, f.msg.DeviceBattery = &f.mobileBattery, &f.deviceBattery
		f.msg.MobileCoverage, f.msg.DeviceCoverage = &f.mobileCoverage, &f.deviceCoverage
	}
}

// alert returns an SOS alert at the current position (contract §3.5).
func (d *device) alert(now time.Time, userID string, withDevice bool) contract.SOSAlert {
	a := contract.SOSAlert{
		Timestamp: contract.Timestamp(now),
		Latitude:  contract.Double(round(d.lat, 6)),
		Longitude: contract.Double(round(d.lon, 6)),
		Altitude:  contract.Double(round(d.alt, 1)),
		UserID:    userID,
	}
	if withDevice {
		a.DeviceID = d.hardwareID
	}
	return a
}
