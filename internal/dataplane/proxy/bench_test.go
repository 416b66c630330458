package proxy

import (
	"io"
	"net"
	"net/netip"
	"testing"

	"github.com/govs/govs/internal/testutil"
)

// pingBackend answers every 64-byte message with 64 bytes, until EOF; with once, it
// closes after the first answer (as an HTTP server with Connection: close, so TIME_WAIT
// stays on the server side and the benchmark does not run out of ephemeral ports).
func pingBackend(b *testing.B, once bool) netip.AddrPort {
	return testutil.ServeTCP(b, func(c net.Conn) {
		buf := make([]byte, 64)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if _, err := c.Write(buf); err != nil || once {
				return
			}
		}
	})
}

// BenchmarkRelayRoundTrip: one 64-byte request/response through the proxy on a kept
// connection (the keep-alive workload's unit of work).
func BenchmarkRelayRoundTrip(b *testing.B) {
	p := newPlane(b)
	be := pingBackend(b, false)
	vip := freeAddr(b, "tcp", "127.0.0.1")
	apply(b, p, tcpService(vip, "rr", be))
	c, err := net.Dial("tcp", vip.String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewConnection: connect, one round trip, the server closes, the client reads
// the EOF and closes (the close workload's unit).
func BenchmarkNewConnection(b *testing.B) {
	p := newPlane(b)
	be := pingBackend(b, true)
	vip := freeAddr(b, "tcp", "127.0.0.1")
	apply(b, p, tcpService(vip, "rr", be))
	buf := make([]byte, 64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := net.Dial("tcp", vip.String())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
		if n, err := c.Read(buf); n != 0 || err != io.EOF {
			b.Fatalf("after the answer: %d bytes, %v; want EOF", n, err)
		}
		c.Close()
	}
}
