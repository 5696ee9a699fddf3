package refbackend

import (
	"errors"
	"time"

	"github.com/eixamsim/eixamsim/contract"
)

// Reasons a telemetry or SOS payload is rejected (Stats keys).
const (
	reasonBadJSON     = "bad_json"
	reasonBadPosition = "bad_position"
	reasonBadTime     = "bad_time"
)

// payloadReason maps a contract parser error to its Stats reason.
func payloadReason(err error) string {
	switch {
	case errors.Is(err, contract.ErrBadPosition):
		return reasonBadPosition
	case errors.Is(err, contract.ErrBadTime):
		return reasonBadTime
	default:
		return reasonBadJSON
	}
}

// recordTelemetry validates a tel/<seg>/data payload of u (contract §3.6:
// JSON object, RFC 3339 timestamp, latitude −90..90, longitude −180..180,
// altitude present, optional fields of the right JSON type), counts it and
// keeps the latest accepted position. The payload's userId is not checked:
// the host app may set it (contract §3.6); the topic identifies the user.
func recordTelemetry(st *counters, u *user, payload []byte, now time.Time) error {
	t, err := contract.ParseTelemetry(payload)
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil {
		u.telRejected++
		st.telRejected.Add(1)
		st.telRejectedBy.add(payloadReason(err))
		return err
	}
	u.telAccepted++
	u.lastPos = &Position{
		Timestamp:  t.Timestamp,
		Latitude:   float64(t.Latitude),
		Longitude:  float64(t.Longitude),
		Altitude:   float64(t.Altitude),
		DeviceID:   t.DeviceID,
		ReceivedAt: now,
	}
	st.telAccepted.Add(1)
	return nil
}
