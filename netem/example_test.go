package netem_test

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/eixamsim/eixamsim/netem"
)

// One user on 3G: its HTTP client and its MQTT connection both dial
// through the user's link, so they share its round trip, its bandwidth
// and its stalls.
func ExampleLink_Dial() {
	p, _ := netem.Builtin("3g")
	link, err := netem.NewLink(p, 42) // 42: the user's seed, e.g. its index in the run
	if err != nil {
		panic(err)
	}
	dial := link.Dial((&net.Dialer{}).DialContext)

	httpClient := &http.Client{Transport: &http.Transport{DialContext: dial}}
	_ = httpClient
	// For MQTT: conn, err := dial(ctx, "tcp", broker), then TLS or a
	// WebSocket on top of conn if the broker URI asks for them.

	fmt.Println("3g round trip for this user:", link.RTT().Round(time.Millisecond))
	// Output: 3g round trip for this user: 261ms
}

func ExampleProfile_Validate() {
	bad4g := netem.Profile{
		RTT:  netem.Between(80*time.Millisecond, 300*time.Millisecond),
		Down: 5 * netem.Mbit,
		Up:   1 * netem.Mbit,
		Loss: 1.2,
	}
	fmt.Println(bad4g.Validate())
	// Output: loss: 120% is above 100%
}
