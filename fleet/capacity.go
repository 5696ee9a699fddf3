package fleet

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/eixamsim/eixamsim/scenario"
)

// fdSlack is the file descriptors a run needs besides connections: the
// binary, result files, listeners, resolver sockets.
const fdSlack = 64

// Plan is what a scenario needs from the operating system at its peak.
type Plan struct {
	// Connections is the peak number of sockets this process opens to the
	// target: one MQTT connection per online user plus the shared HTTP pool.
	Connections int
	// ServerSockets is the peak number of accepted sockets of the embedded
	// backend in the same process (0 for an external target).
	ServerSockets int
	// FDs is the file descriptors the process needs.
	FDs int
	// PerSource is the peak number of connections that draw on one
	// ephemeral port range: those from one local address when
	// fleet.source_ips binds them (a bound port is the address's, whatever
	// the destination), else those to one destination address (the kernel
	// reuses a port for different destinations). For a sharded run it
	// counts every shard that shares the local addresses (all of them
	// without source_ips, or with fewer addresses than shards): on a
	// loopback target, where Check uses it, every shard runs on this
	// machine.
	PerSource int
}

// NewPlan works out what sc needs; embedded says whether the reference
// backend runs in the same process.
func NewPlan(sc *scenario.Scenario, embedded bool) Plan {
	users := sc.MaxUsers()
	httpConns := httpPoolSize(sc.Fleet.Users)
	p := Plan{Connections: users + httpConns}
	if embedded {
		p.ServerSockets = p.Connections
	}
	p.FDs = p.Connections + p.ServerSockets + fdSlack
	shards := 1
	if sh := sc.Shard; sh != nil && !sh.OwnSources {
		shards = sh.Count // the shards share the local addresses
	}
	if sources := len(sc.Fleet.SourceIPs); sources > 0 {
		p.PerSource = ceilDiv(p.Connections*shards, sources)
	} else {
		brokers, apis := 1, 1
		if !embedded {
			brokers, apis = max(len(sc.Target.Brokers()), 1), max(len(sc.Target.APIs()), 1)
		}
		p.PerSource = max(ceilDiv(users*shards, brokers), ceilDiv(httpConns*shards, apis))
	}
	return p
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// httpPoolSize is the idle-connection cap of the shared HTTP transport;
// at most that many HTTP connections stay open.
func httpPoolSize(users int) int { return min(max(users/4, 64), 2048) }

// Check compares the plan with the machine: the file-descriptor limit
// (raised to the hard limit first) and, for loopback targets, the
// ephemeral ports one source address can use. It returns an error that
// says what to change when the plan cannot fit.
func (p Plan) Check(targetHosts []string) error {
	soft, hard, err := raiseFDLimit()
	if err == nil && p.FDs > soft {
		return fmt.Errorf("the run needs about %d file descriptors (%d connections to the target%s + %d), but this process may open %d (hard limit %d): run fewer users per process (shard the run) or raise the limit (ulimit -n)",
			p.FDs, p.Connections, embeddedNote(p), fdSlack, soft, hard)
	}
	lo, hi, ok := ephemeralPorts()
	if !ok {
		return nil
	}
	ports := hi - lo + 1
	if p.PerSource > ports && anyLoopback(targetHosts) {
		return fmt.Errorf("the run opens about %d connections from one local address, but only %d ephemeral ports (%d-%d) exist per address: add fleet.source_ips (e.g. 127.0.0.2-127.0.0.20) to spread them",
			p.PerSource, ports, lo, hi)
	}
	return nil
}

func embeddedNote(p Plan) string {
	if p.ServerSockets == 0 {
		return ""
	}
	return fmt.Sprintf(", %d accepted by the embedded backend", p.ServerSockets)
}

// ephemeralPorts reads Linux's local port range.
func ephemeralPorts() (lo, hi int, ok bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, false
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	return lo, hi, err1 == nil && err2 == nil && hi >= lo
}

// anyLoopback reports whether a host is a loopback address or localhost,
// where every connection shares one destination and the local port range
// is the limit.
func anyLoopback(hosts []string) bool {
	for _, h := range hosts {
		if h == "localhost" {
			return true
		}
		if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
			return true
		}
	}
	return false
}
