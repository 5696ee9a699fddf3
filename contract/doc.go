// Package contract holds the wire facts of the Eixam Connect SDK that both
// the simulator and the reference backend must agree on: how a user id is
// signed, how it becomes an MQTT client id, username and topic segment, and
// the JSON shapes of every MQTT payload and HTTP body.
//
// Everything here follows ../shared/eixam-contract.md (section numbers are
// quoted in the doc comments). It holds no state and does no I/O.
package contract
