package fleet

import (
	"context"
	"time"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

var _ behaviour = (*devices)(nil)

// devices calls the device registry (contract §2.9) at a fleet-wide rate,
// each arrival an action picked from the mix. delete goes preferably to a
// user that knows a device; a user that knows none makes it an upsert.
type devices struct {
	mix     mix
	process string // arrival spacing
	http    *sdkHTTP
	timeout time.Duration // bound on one call
	latency map[string]*metrics.Latency
	// ids holds each user's known device ids; guarded by the user's lock.
	ids []knownIDs
}

func newDevices(e env) behaviour {
	d := e.sc.Behaviours.Devices
	if d == nil {
		return nil
	}
	return &devices{
		mix:     newMix(d.Mix),
		process: d.Arrivals,
		http:    e.http,
		timeout: e.sc.Fleet.HTTPTimeout,
		latency: map[string]*metrics.Latency{
			"list":   e.reg.Latency(scenario.HTTPDevicesList),
			"upsert": e.reg.Latency(scenario.HTTPDevicesUpsert),
			"delete": e.reg.Latency(scenario.HTTPDevicesDelete),
		},
		ids: make([]knownIDs, e.users),
	}
}

func (b *devices) when() trigger { return trigger{kind: onArrival, process: b.process, fallback: true} }

// claim picks the arrival's action (once) and, for delete, takes a device
// id out of u's known set.
func (b *devices) claim(o *occurrence, u *user, _ *life) work {
	if o.choice == "" {
		o.choice = b.mix.pick(o.rng)
	}
	action, id := o.choice, ""
	if action == "delete" {
		known := &b.ids[u.index]
		if id = known.take(o.rng); id == "" {
			if !o.fallback {
				return nil
			}
			action = "upsert"
		} else {
			known.forget(id)
		}
	}
	hardwareID, intended := u.dev.hardwareID, o.intended
	return func(context.Context) error {
		b.do(u, action, id, hardwareID, intended)
		return nil
	}
}

// missed counts a dropped arrival against the action it was (or would
// have been) given.
func (b *devices) missed(o *occurrence, class string) {
	if o.choice == "" {
		o.choice = b.mix.pick(o.rng)
	}
	b.latency[o.choice].Error(class)
}

// do runs one device registry call of u for an arrival due at intended.
func (b *devices) do(u *user, action, id, hardwareID string, intended time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	var class string
	var err error
	switch action {
	case "list":
		var out struct {
			Devices []contract.Device `json:"devices"`
		}
		class, err = b.http.call(ctx, u.sess, "GET", contract.PathDevices, nil, isStatus(200), &out)
		if err == nil {
			ids := make([]string, 0, len(out.Devices))
			for _, d := range out.Devices {
				ids = append(ids, d.ID)
			}
			b.remember(u, ids)
		}
	case "upsert":
		in := contract.DeviceInput{HardwareID: hardwareID, FirmwareVersion: "2.5.1", HardwareModel: "EIXAM TAG", PairedAt: contract.Timestamp(time.Now())}
		var out struct {
			Device contract.Device `json:"device"`
		}
		class, err = b.http.call(ctx, u.sess, "POST", contract.PathDevices, in, isStatus(200), &out)
		if err == nil {
			b.remember(u, []string{out.Device.ID}) // upsert is keyed by hardware id: one row per tag
		}
	case "delete":
		class, err = b.http.call(ctx, u.sess, "DELETE", contract.PathDevices+"/"+id, nil, isStatus(204), nil)
	}
	observe(b.latency[action], intended, class, err)
}

// remember sets u's known devices to ids.
func (b *devices) remember(u *user, ids []string) {
	u.mu.Lock()
	b.ids[u.index].set(ids)
	u.mu.Unlock()
}
