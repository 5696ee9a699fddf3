package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Timestamp formats time the way the SDK does (Dart toIso8601String on a UTC
// time): "2026-04-19T13:40:05.123Z", or six fractional digits when the
// microseconds are non-zero (contract §3.5).
func Timestamp(t time.Time) string {
	t = t.UTC().Truncate(time.Microsecond)
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		return t.Format("2006-01-02T15:04:05.000000Z")
	}
	return t.Format("2006-01-02T15:04:05.000Z")
}

// ParseTimestamp accepts RFC 3339 with any fractional precision (3 or 6
// digits from the SDK), as contract §7 asks of a backend.
func ParseTimestamp(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}

// SOSAlert is the payload published on sos/alerts (contract §3.5). Field
// order matches the SDK's: timestamp, latitude, longitude, altitude, userId,
// deviceId. Altitude is always present (0 when unknown).
type SOSAlert struct {
	Timestamp string `json:"timestamp"`
	Latitude  Double `json:"latitude"`
	Longitude Double `json:"longitude"`
	Altitude  Double `json:"altitude"`
	UserID    string `json:"userId,omitempty"`
	DeviceID  string `json:"deviceId,omitempty"`
}

// SOSCreate is the body of POST /v1/sdk/sos (contract §2.6), sent only by
// the Android Protection Mode service: altitude is omitted when unknown,
// deviceId when no tag is paired.
type SOSCreate struct {
	Timestamp string  `json:"timestamp"`
	Latitude  Double  `json:"latitude"`
	Longitude Double  `json:"longitude"`
	Altitude  *Double `json:"altitude,omitempty"`
	DeviceID  string  `json:"deviceId,omitempty"`
}

// Telemetry is the payload published on tel/<seg>/data (contract §3.6).
// Optional fields are pointers so that an absent field is omitted rather
// than sent as zero, as the SDK does.
type Telemetry struct {
	Timestamp      string  `json:"timestamp"`
	Latitude       Double  `json:"latitude"`
	Longitude      Double  `json:"longitude"`
	Altitude       Double  `json:"altitude"`
	UserID         string  `json:"userId,omitempty"`
	DeviceID       string  `json:"deviceId,omitempty"`
	DeviceBattery  *Double `json:"deviceBattery,omitempty"`
	DeviceCoverage *int    `json:"deviceCoverage,omitempty"`
	MobileBattery  *Double `json:"mobileBattery,omitempty"`
	MobileCoverage *int    `json:"mobileCoverage,omitempty"`
}

// Errors returned by the payload parsers. They are wrapped with detail.
var (
	ErrBadJSON     = errors.New("payload is not a JSON object")
	ErrBadPosition = errors.New("invalid position")
	ErrBadTime     = errors.New("invalid timestamp")
)

// position is the part of SOS and telemetry payloads a backend validates.
// Pointers tell a missing field from a zero one.
type position struct {
	Timestamp *string  `json:"timestamp"`
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	Altitude  *float64 `json:"altitude"`
}

func (p position) check() error {
	if p.Timestamp == nil {
		return fmt.Errorf("%w: timestamp missing", ErrBadTime)
	}
	if _, err := ParseTimestamp(*p.Timestamp); err != nil {
		return fmt.Errorf("%w: %q", ErrBadTime, *p.Timestamp)
	}
	if p.Latitude == nil || p.Longitude == nil {
		return fmt.Errorf("%w: latitude and longitude are required", ErrBadPosition)
	}
	lat, lon := *p.Latitude, *p.Longitude
	if math.IsNaN(lat) || lat < -90 || lat > 90 {
		return fmt.Errorf("%w: latitude %v outside -90..90", ErrBadPosition, lat)
	}
	if math.IsNaN(lon) || lon < -180 || lon > 180 {
		return fmt.Errorf("%w: longitude %v outside -180..180", ErrBadPosition, lon)
	}
	return nil
}

// ParseSOSAlert decodes and validates an sos/alerts payload: a JSON object
// with a parseable timestamp and in-range latitude and longitude. Altitude
// may be absent (the SDK always sends it, other clients may not).
func ParseSOSAlert(payload []byte) (SOSAlert, error) {
	var p position
	if err := json.Unmarshal(payload, &p); err != nil {
		return SOSAlert{}, fmt.Errorf("%w: %v", ErrBadJSON, err)
	}
	if err := p.check(); err != nil {
		return SOSAlert{}, err
	}
	var a SOSAlert
	if err := json.Unmarshal(payload, &a); err != nil {
		return SOSAlert{}, fmt.Errorf("%w: %v", ErrBadJSON, err)
	}
	return a, nil
}

// ParseTelemetry decodes and validates a tel/<seg>/data payload (contract
// §3.6): timestamp, finite in-range latitude and longitude, finite altitude,
// and the optional fields with their JSON types.
func ParseTelemetry(payload []byte) (Telemetry, error) {
	var p position
	if err := json.Unmarshal(payload, &p); err != nil {
		return Telemetry{}, fmt.Errorf("%w: %v", ErrBadJSON, err)
	}
	if err := p.check(); err != nil {
		return Telemetry{}, err
	}
	if p.Altitude == nil {
		return Telemetry{}, fmt.Errorf("%w: altitude is required", ErrBadPosition)
	}
	var t Telemetry
	if err := json.Unmarshal(payload, &t); err != nil {
		return Telemetry{}, fmt.Errorf("%w: %v", ErrBadJSON, err)
	}
	return t, nil
}

// Lifecycle states of a backend incident, the vocabulary contract §2.7
// recommends.
const (
	StateActive       = "active"
	StateAcknowledged = "acknowledged"
	StateCancelled    = "cancelled"
	StateResolved     = "resolved"
)

// Event is a lifecycle message on sos/events/<seg> (contract §3.7): the
// backend incident id, its new status and when it changed.
type Event struct {
	IncidentID string `json:"incidentId"`
	Status     string `json:"status"`
	UpdatedAt  string `json:"updatedAt"`
}

// Incident is the object inside {"incident": …} on the SOS endpoints
// (contract §2.7).
type Incident struct {
	ID        string   `json:"id"`
	State     string   `json:"state"`
	CreatedAt string   `json:"createdAt"`
	UpdatedAt string   `json:"updatedAt,omitempty"`
	Latitude  float64  `json:"latitude"`
	Longitude float64  `json:"longitude"`
	Altitude  *float64 `json:"altitude,omitempty"`
	DeviceID  string   `json:"deviceId,omitempty"`
}

// IncidentBody is the body of GET /v1/sdk/sos and of cancel/resolve: a nil
// Incident encodes as {"incident":null}, the contract's "none" (§2.4).
type IncidentBody struct {
	Incident *Incident `json:"incident"`
}

// Me is the body of GET /v1/sdk/me (contract §2.3).
type Me struct {
	User MeUser `json:"user"`
}

// MeUser carries the backend user id and the canonical external id.
type MeUser struct {
	ID             string `json:"id"`
	ExternalUserID string `json:"external_user_id"`
}

// ContactInput is the body of contact create and update; the SDK always
// sends all four keys (contract §2.8).
type ContactInput struct {
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Email    string `json:"email"`
	Priority int    `json:"priority"`
}

// Contact is a stored emergency contact (contract §2.8); times are camelCase.
type Contact struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Phone     string `json:"phone"`
	Email     string `json:"email"`
	Priority  int    `json:"priority"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

// DeviceInput is the body of the device upsert (contract §2.9), snake_case.
type DeviceInput struct {
	HardwareID      string `json:"hardware_id"`
	FirmwareVersion string `json:"firmware_version"`
	HardwareModel   string `json:"hardware_model"`
	PairedAt        string `json:"paired_at"`
}

// Device is a registry row (contract §2.9); times are snake_case.
type Device struct {
	ID              string `json:"id"`
	HardwareID      string `json:"hardware_id"`
	FirmwareVersion string `json:"firmware_version"`
	HardwareModel   string `json:"hardware_model"`
	PairedAt        string `json:"paired_at"`
	CreatedAt       string `json:"created_at"`
	UpdatedAt       string `json:"updated_at"`
}

// HTTP header names of SDK requests (contract §2.1).
const (
	HeaderAppID  = "X-App-ID"
	HeaderUserID = "X-User-ID"
)

// SDK HTTP paths (contract §2.2).
const (
	PathMe         = "/v1/sdk/me"
	PathSOS        = "/v1/sdk/sos"
	PathSOSCancel  = "/v1/sdk/sos/cancel"
	PathSOSResolve = "/v1/sdk/sos/resolve"
	PathContacts   = "/v1/sdk/contacts"
	PathDevices    = "/v1/sdk/devices"
	PathSign       = "/v1/auth/sign"
)
