// Package refbackend is a real, in-process implementation of the Eixam
// Connect SDK backend wire contract (../shared/eixam-contract.md): an MQTT
// broker (mochi-mqtt) with the SDK's authentication and topic ACL, and the
// SDK's HTTP API on the standard library. The simulator's tests run against
// it, and `eixamsim serve` runs it on its own.
//
// What it implements:
//
//   - MQTT 5 and 3.1.1 over TCP, WebSocket (path /ws) and, with a
//     certificate, TLS (ssl://, wss://). Username "sdk:<appId>:<userId>",
//     password = lowercase hex HMAC-SHA256(app secret, userId), checked in
//     constant time (contract §1.1, §3.1).
//   - ACL: a user may publish only to sos/alerts and tel/<own seg>/data and
//     subscribe only to sos/events/<own seg>, where seg is the
//     encodeURIComponent form of the user's canonical id (contract §3.3,
//     §3.4).
//   - A broker's session rules: keep-alive enforced at exactly 1.5 × the
//     client's value, session takeover with DISCONNECT 0x8E, writes that
//     never wait on a client that stops reading (one over
//     Config.MaxPendingWrite is closed), and every ended session counted by
//     cause (MQTTStats.DisconnectsByCause).
//   - Telemetry validation and per-user counters (contract §3.6).
//   - The SOS lifecycle: at most one open incident per user, events on
//     sos/events/<seg>, operator acknowledgement after Config.AckDelay,
//     cancel and resolve over HTTP (contract §2.4–2.7, §3.5, §3.7, §4).
//   - Every SDK HTTP endpoint of contract §2.2 rows 1–12 with its exact status
//     codes and body shapes, header authentication (§2.1), doubled-slash
//     paths (§7) and JSON errors.
//   - Fault injection (Config.Faults, a faults.Set) and counters of everything (Stats, served at
//     GET /debug/stats).
//   - A capacity model with a known limit (Config.Capacity): telemetry, SOS
//     alerts and HTTP requests pass through single-server FIFO queues with
//     a service rate and a bounded wait, so that past a known load latency
//     climbs to the bound and the excess is refused (503, PUBACK 0x97).
//   - Runtime faults, callable while serving: Server.StallHTTP (freeze the
//     HTTP API), Server.StopMQTT and Server.StartMQTT (broker restart on the
//     same ports), Server.Kick (disconnect a fraction of the clients), and
//     schedules of them (faults.ScheduledFault, Config.Schedule,
//     Server.RunSchedule), also reachable as POST /debug/faults/* with
//     Config.FaultControl.
//
// Start it with Start and stop it with Server.Close; see docs/refbackend.md
// for the behaviour in detail.
package refbackend
