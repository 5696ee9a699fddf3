package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loadSOS loads a minimal scenario whose behaviours.sos block is body.
func loadSOS(t *testing.T, body string) (*Scenario, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sos.yaml")
	text := "version: 1\nname: sos\ntarget: { embedded: {} }\nidentity: { app_id: a, app_secret: s }\nfleet: { users: 10 }\nduration: 10s\nbehaviours:\n  sos:\n" + body
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path, Options{Getenv: fixtureEnv})
}

func TestSOSOrigin(t *testing.T) {
	for _, c := range []struct {
		body  string
		want  string
		share float64
	}{
		{"    rate: 1/s\n", OriginApp, 0},
		{"    rate: 1/s\n    origin: device\n", OriginDevice, 0},
		{"    rate: 1/s\n    origin: mixed\n", OriginMixed, DefaultDeviceShare},
		{"    rate: 1/s\n    origin: mixed\n    device_share: 30%\n", OriginMixed, 0.3},
	} {
		s, err := loadSOS(t, c.body)
		if err != nil {
			t.Fatalf("%q: %v", c.body, err)
		}
		got := s.Behaviours.SOS
		if got.Origin != c.want || got.DeviceShare != c.share {
			t.Errorf("%q: origin %q share %v, want %q %v", c.body, got.Origin, got.DeviceShare, c.want, c.share)
		}
	}
}

func TestSOSOriginErrors(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"    rate: 1/s\n    origin: watch\n", "sos.yaml:10:13"},
		{"    rate: 1/s\n    origin: watch\n", "origin"},
		{"    rate: 1/s\n    device_share: 20%\n", "only applies with origin: mixed"},
		{"    rate: 1/s\n    origin: mixed\n    device_share: 100%\n", "sos.yaml:11:19"},
	} {
		_, err := loadSOS(t, c.body)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an error containing %q", c.body, err, c.want)
		}
	}
}

func TestDeviceOriginated(t *testing.T) {
	mixed := SOS{Origin: OriginMixed, DeviceShare: 0.3}
	if !mixed.DeviceOriginated(0.29) || mixed.DeviceOriginated(0.3) {
		t.Error("mixed 30%: u < 0.3 is the device, u >= 0.3 the app")
	}
	if (SOS{Origin: OriginApp}).DeviceOriginated(0) || !(SOS{Origin: OriginDevice}).DeviceOriginated(0.99) {
		t.Error("app is never the device, device always")
	}
}
