package refbackend

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
)

// Fuzz targets for the HTTP body decoders. Their seed corpus
// (testdata/fuzz/<name>/) runs as ordinary tests; `go test
// -fuzz=FuzzParseContact ./refbackend` explores further. Properties: no
// panic, a refusal is a 400 with a message, and an accepted body is valid
// and reads back unchanged once re-encoded the way the SDK sends it.

// wantBadRequest checks a refusal.
func wantBadRequest(t *testing.T, e *apiError) {
	t.Helper()
	if e.status != http.StatusBadRequest || e.msg == "" {
		t.Fatalf("refusal %d %q, want 400 with a message", e.status, e.msg)
	}
}

func FuzzParseContact(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		in, apiErr := parseContact(body)
		if apiErr != nil {
			wantBadRequest(t, apiErr)
			return
		}
		again, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		back, apiErr := parseContact(again)
		if apiErr != nil || back != in {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", in, again, back, apiErr)
		}
	})
}

func FuzzParseDevice(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		in, apiErr := parseDevice(body)
		if apiErr != nil {
			wantBadRequest(t, apiErr)
			return
		}
		if in.HardwareID == "" {
			t.Fatalf("accepted a device without hardware_id: %q", body)
		}
		again, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		back, apiErr := parseDevice(again)
		if apiErr != nil || back != in {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", in, again, back, apiErr)
		}
	})
}

func FuzzParseSOSCreate(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		p, apiErr := parseSOSCreate(body)
		if apiErr != nil {
			wantBadRequest(t, apiErr)
			return
		}
		if !(p.latitude >= -90 && p.latitude <= 90) || !(p.longitude >= -180 && p.longitude <= 180) {
			t.Fatalf("accepted position %v, %v from %q", p.latitude, p.longitude, body)
		}
		again, err := json.Marshal(map[string]any{
			"latitude": p.latitude, "longitude": p.longitude, "altitude": p.altitude, "deviceId": p.deviceID,
		})
		if err != nil {
			t.Fatal(err)
		}
		back, apiErr := parseSOSCreate(again)
		if apiErr != nil || !reflect.DeepEqual(back, p) {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", p, again, back, apiErr)
		}
	})
}
