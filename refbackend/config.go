package refbackend

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/eixamsim/eixamsim/faults"
)

// Default limits applied by Start when the Config field is zero.
const (
	DefaultMaxContactsPerUser = 100
	DefaultMaxDevicesPerUser  = 20
	DefaultMaxBodyBytes       = 64 << 10 // 64 KiB
	DefaultMaxPayloadBytes    = 64 << 10 // 64 KiB
	DefaultMaxPendingWrite    = 1 << 20  // 1 MiB
)

// Config configures a Server. Start takes it by value and fills the defaults
// in on its own copy; the caller's value is never changed.
type Config struct {
	// MQTTAddr, WSAddr and HTTPAddr are the listen addresses of the MQTT TCP
	// listener, the MQTT-over-WebSocket listener (path /ws) and the HTTP API.
	// "" disables that listener; "127.0.0.1:0" picks a free port (read it
	// back with MQTTURL, WSURL, HTTPURL). At least one must be set.
	MQTTAddr, WSAddr, HTTPAddr string

	// TLSCertFile and TLSKeyFile are PEM files. When both are set every
	// listener uses TLS (ssl://, wss://, https://); setting only one is an
	// error.
	TLSCertFile, TLSKeyFile string

	// Apps maps an app id to its secret (the HMAC key of contract §1.1).
	// It must hold at least one app; ids must be non-empty and free of ':'
	// (the MQTT username could not carry them), secrets non-empty.
	Apps map[string][]byte

	// CanonicalPrefix makes the canonical external user id (contract §1.4)
	// differ from the one the SDK sends: canonical = CanonicalPrefix +
	// externalUserId. "" keeps them equal. Topics use the canonical id;
	// one the SDK would trim, or that starts with '%', is escaped (see
	// canonicalID).
	CanonicalPrefix string

	// AckDelay is how long after an incident opens the simulated operator
	// acknowledges it. 0 acknowledges at once (right after the "active"
	// event); a negative value never acknowledges.
	AckDelay time.Duration

	// Faults are the injected faults at start; change them later with
	// Server.SetFaults. The zero value injects nothing.
	Faults faults.Set

	// Capacity is the capacity model: service rates with bounded queues
	// for telemetry, SOS alerts and HTTP requests, so that past a known
	// load latency and refusals climb as a saturated backend's do
	// (docs/refbackend.md, "Capacity model"). The zero value models
	// nothing: the backend serves as fast as it can.
	Capacity faults.Capacity

	// Schedule is a fault schedule run from the moment Start returns, as
	// Server.RunSchedule would (e.g. `eixamsim serve --fault`); nil runs
	// none. It is validated by Start.
	Schedule []faults.ScheduledFault

	// FaultControl serves the unauthenticated runtime fault controls
	// POST /debug/faults/* on the HTTP listener (restart the MQTT
	// listeners, kick clients, stall HTTP, run a schedule). False (the
	// default) answers them 404. Enable it only where whoever can reach
	// the HTTP port may break the server on purpose.
	FaultControl bool

	// MaxContactsPerUser and MaxDevicesPerUser cap the registry rows of one
	// user; a create over the cap answers 409. Zero means the defaults
	// (100 and 20).
	MaxContactsPerUser, MaxDevicesPerUser int

	// MaxBodyBytes caps an HTTP request body; larger bodies answer 413.
	// Zero means 64 KiB.
	MaxBodyBytes int64

	// MaxPayloadBytes caps the size of any MQTT packet a client sends
	// (advertised as Maximum Packet Size in an MQTT 5 CONNACK); a larger
	// packet closes the connection. Zero means 64 KiB.
	MaxPayloadBytes int

	// MaxPendingWrite caps the bytes the broker holds for one client
	// that does not read them (its socket buffers are full): past it the
	// connection is closed, counted as a slow consumer. Writes never wait
	// on a client, so such a client never holds up the others. Zero means
	// 1 MiB.
	MaxPendingWrite int

	// Logger receives the server's logs and mochi's (mochi's levels are
	// lowered one step: its errors arrive as warnings). Nil discards them.
	Logger *slog.Logger
}

// withDefaults returns a copy of c with the zero fields set to defaults.
func (c Config) withDefaults() Config {
	if c.MaxContactsPerUser == 0 {
		c.MaxContactsPerUser = DefaultMaxContactsPerUser
	}
	if c.MaxDevicesPerUser == 0 {
		c.MaxDevicesPerUser = DefaultMaxDevicesPerUser
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxPayloadBytes == 0 {
		c.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	if c.MaxPendingWrite == 0 {
		c.MaxPendingWrite = DefaultMaxPendingWrite
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	apps := make(map[string][]byte, len(c.Apps))
	for id, secret := range c.Apps {
		apps[id] = append([]byte(nil), secret...)
	}
	c.Apps = apps
	c.Faults = c.Faults.Clone()
	c.Capacity = c.Capacity.Clone()
	sched := make([]faults.ScheduledFault, len(c.Schedule))
	for i, f := range c.Schedule {
		f.Faults = f.Faults.Clone()
		sched[i] = f
	}
	c.Schedule = sched
	return c
}

// validate reports every problem of a defaulted config at once.
func (c Config) validate() error {
	var errs []error
	if c.MQTTAddr == "" && c.WSAddr == "" && c.HTTPAddr == "" {
		errs = append(errs, errors.New("no listener: set at least one of MQTTAddr, WSAddr, HTTPAddr"))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("TLS needs both TLSCertFile and TLSKeyFile"))
	}
	if len(c.Apps) == 0 {
		errs = append(errs, errors.New("no app configured: Apps must hold at least one app id and secret"))
	}
	for id, secret := range c.Apps {
		switch {
		case id == "":
			errs = append(errs, errors.New("app id must not be empty"))
		case strings.Contains(id, ":"):
			errs = append(errs, fmt.Errorf("app id %q must not contain ':' (MQTT username is sdk:<appId>:<userId>)", id))
		}
		if len(secret) == 0 {
			errs = append(errs, fmt.Errorf("app %q has an empty secret", id))
		}
	}
	if c.MaxContactsPerUser < 0 || c.MaxDevicesPerUser < 0 {
		errs = append(errs, errors.New("MaxContactsPerUser and MaxDevicesPerUser must not be negative"))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("MaxBodyBytes must not be negative"))
	}
	if c.MaxPayloadBytes < 0 {
		errs = append(errs, errors.New("MaxPayloadBytes must not be negative"))
	}
	if c.MaxPendingWrite < 0 {
		errs = append(errs, errors.New("MaxPendingWrite must not be negative"))
	}
	if err := c.Faults.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Capacity.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("Capacity: %w", err))
	}
	if err := validateSchedule(c.Schedule, c.MQTTAddr != "" || c.WSAddr != ""); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
