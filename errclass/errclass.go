// Package errclass names the error classes the fleet counts failures under.
// It is a leaf: fleet produces these classes, and engine, capacity, health
// and report match them by constant rather than by string literal.
package errclass

import "fmt"

// Class is the name a failed operation is counted under.
type Class = string

// Transport and protocol classes.
const (
	Backpressure      Class = "backpressure"       // telemetry tick dropped: too many PUBACKs outstanding
	AuthRefused       Class = "auth_refused"       // CONNACK refused bad credentials / not authorised
	ConnectionLost    Class = "connection_lost"    // connection lost before the operation was answered
	Timeout           Class = "timeout"            // deadline exceeded or net timeout
	Cancelled         Class = "cancelled"          // the run's context was cancelled
	ConnectionRefused Class = "connection_refused" // TCP connect refused
	ConnectionReset   Class = "connection_reset"   // peer reset / unexpected EOF
	NoLocalPort       Class = "no_local_port"      // EADDRNOTAVAIL: ephemeral ports exhausted
	TLSVerify         Class = "tls_verify"         // server certificate did not verify
	Network           Class = "network"            // any other transport failure
	Unfinished        Class = "unfinished"         // a user stopped while still logging in
	NoEvent           Class = "no_event"           // an SOS event never arrived
	NotVisible        Class = "not_visible"        // an SOS was not visible in time
	Internal          Class = "internal"           // the simulator failed to build a message
	AlreadyActive     Class = "already_active"     // a device SOS not relayed: an incident was already active
	GetFailed         Class = "get_failed"         // a device SOS's closing GET /v1/sdk/sos failed
	NotCreated        Class = "not_created"        // Protection Mode's create attempts all failed within the hold
	InvalidResponse   Class = "invalid_response"   // a 2xx answer the SDK could not read
	NeverBack         Class = "never_back"         // a user an incident took away was still away at the end of the run
)

// StillIn is the class of an SOS left in a state it should have left.
func StillIn(state string) Class { return "still_" + state }

// InState is the class of an SOS found in an unexpected state.
func InState(state string) Class { return "state_" + state }

// HTTP is the class of an HTTP response with a non-success status.
func HTTP(status int) Class { return fmt.Sprintf("http_%d", status) }

// Connack is the class of a refused CONNECT that is not an auth refusal.
func Connack(code byte) Class { return fmt.Sprintf("connack_0x%02x", code) }

// Suback is the class of a refused SUBSCRIBE.
func Suback(code byte) Class { return fmt.Sprintf("suback_0x%02x", code) }

// Puback is the class of a refused PUBLISH.
func Puback(code byte) Class { return fmt.Sprintf("puback_0x%02x", code) }

// Fixed lists every fixed class (the families are built by HTTP, Connack,
// Suback and Puback); tests check sources and docs against it.
var Fixed = []Class{
	Backpressure, AuthRefused, ConnectionLost, Timeout, Cancelled,
	ConnectionRefused, ConnectionReset, NoLocalPort, TLSVerify, Network,
	Unfinished, NoEvent, NotVisible, Internal, AlreadyActive, GetFailed,
	NotCreated, InvalidResponse, NeverBack,
}
