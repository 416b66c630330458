package testutil

import (
	"net"
	"net/netip"
	"testing"
)

// ServeTCP listens on a free loopback port and serves it as Serve does. It returns the
// listening address.
func ServeTCP(t testing.TB, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	Serve(t, ln, handle)
	return netip.MustParseAddrPort(ln.Addr().String())
}

// Serve runs handle on each connection ln accepts, in a goroutine of its own, closing
// the connection after; it closes ln when the test ends.
func Serve(t testing.TB, ln net.Listener, handle func(net.Conn)) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
}
