// Command rawpaho is the baseline for eixamsim's per-message overhead: the
// same job as bench/telemetry-5k.yaml — N MQTT 5 clients (Receive Maximum
// 16), each publishing a fixed telemetry payload at QoS 1 every period
// with jitter from a runtime timer and waiting for its PUBACK — written
// with bare paho.golang and nothing else: no login, no metrics, no JSON.
// bench/fleet.sh runs it under GNU time next to eixamsim; the difference
// in CPU per message is what eixamsim itself costs.
//
//	go run ./bench/rawpaho -broker 127.0.0.1:21883 -users 5000 -every 5s -for 60s
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/contract"
)

func main() {
	broker := flag.String("broker", "127.0.0.1:21883", "broker host:port (plain TCP)")
	users := flag.Int("users", 5000, "clients")
	every := flag.Duration("every", 5*time.Second, "publish period per client")
	ramp := flag.Duration("ramp", 10*time.Second, "connect the clients over this long")
	length := flag.Duration("for", 60*time.Second, "run length, ramp included")
	app := flag.String("app", "demo-app", "app id")
	secretEnv := flag.String("secret-env", "EIXAM_APP_SECRET", "environment variable with the app secret")
	ticks := flag.Bool("ticks", false, "print \"tick UNIX_SECONDS ACKED\" on stderr every second (for bench/scale.sh's steady-state CPU per message)")
	flag.Parse()
	secret := []byte(os.Getenv(*secretEnv))

	payload := []byte(`{"timestamp":"2026-04-19T13:45:00.000Z","latitude":41.3851,"longitude":2.1734,"altitude":12.0,"userId":"bench"}`)
	var sent, acked, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(*length)
	if *ticks {
		go func() {
			for now := range time.Tick(time.Second) {
				fmt.Fprintf(os.Stderr, "tick %.3f %d\n", float64(now.UnixNano())/1e9, acked.Load())
			}
		}()
	}
	clients := make([]*paho.Client, *users)
	rm := uint16(16)
	for i := range *users {
		time.Sleep(time.Until(start.Add(*ramp * time.Duration(i) / time.Duration(*users))))
		id := fmt.Sprintf("raw-%d", i)
		conn, err := net.Dial("tcp", *broker)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dial:", err)
			os.Exit(1)
		}
		c := paho.NewClient(paho.ClientConfig{ClientID: contract.ClientID(*app, id), Conn: conn})
		if _, err := c.Connect(context.Background(), &paho.Connect{
			ClientID: contract.ClientID(*app, id), KeepAlive: 30, CleanStart: true,
			Username: contract.Username(*app, id), UsernameFlag: true,
			Password: []byte(contract.Sign(secret, id)), PasswordFlag: true,
			Properties: &paho.ConnectProperties{ReceiveMaximum: &rm},
		}); err != nil {
			fmt.Fprintln(os.Stderr, "connect:", err)
			os.Exit(1)
		}
		clients[i] = c
		topic := contract.TelemetryTopic(id)
		next := time.Now().Add(time.Duration(rand.Int64N(int64(*every))))
		var tick func()
		tick = func() {
			if time.Now().After(end) {
				wg.Done()
				return
			}
			next = next.Add(time.Duration(float64(*every) * (0.9 + 0.2*rand.Float64())))
			time.AfterFunc(time.Until(next), tick)
			sent.Add(1)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload}); err != nil {
				failed.Add(1)
				return
			}
			acked.Add(1)
		}
		wg.Add(1)
		time.AfterFunc(time.Until(next), tick)
	}
	wg.Wait()
	for _, c := range clients {
		_ = c.Disconnect(&paho.Disconnect{})
	}
	fmt.Printf("rawpaho: %d clients, %d sent, %d acknowledged, %d failed in %v\n", *users, sent.Load(), acked.Load(), failed.Load(), time.Since(start).Round(time.Second))
}
