//go:build !unix

package testnet

import "testing"

// RefusedAddr needs a bound socket that never listens; this platform's
// tests skip.
func RefusedAddr(t testing.TB) string {
	t.Skip("testnet.RefusedAddr needs a Unix socket API")
	return ""
}
