package proxy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// pattern is n bytes that differ from one 4-byte block to the next, so a lost, doubled
// or reordered block shows.
func pattern(n int) []byte {
	b := make([]byte, n+4)
	for i := 0; i < n; i += 4 {
		binary.BigEndian.PutUint32(b[i:], uint32(i/4)*2654435761)
	}
	return b[:n]
}

// TestTransferAndClose relays transfers of sizes around the read buffer and the splice
// threshold in both directions, each ended by a FIN right behind the data (the case
// where the proxy sends the last data and the FIN together and skips the read of the
// EOF), and checks every byte, the EOF at the far end, and the byte counters.
func TestTransferAndClose(t *testing.T) {
	sizes := []int{0, 1, 1000, readBufSize - 1, readBufSize, readBufSize + 1, 3*readBufSize + 17, 4 << 20}
	tests := []struct {
		name string
		// toServer: the client sends the data and half-closes; the server answers with
		// the count and closes. Otherwise the server sends the data and closes at once
		// (data and FIN back to back), as an HTTP/1.0 server does.
		toServer bool
	}{
		{"server sends then closes", false},
		{"client sends then half-closes", true},
	}
	p := newPlane(t)
	for _, tt := range tests {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%d", tt.name, size), func(t *testing.T) {
				want := pattern(size)
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				srvErr := make(chan error, 1)
				go func() {
					c, err := ln.Accept()
					if err != nil {
						srvErr <- err
						return
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(10 * time.Second))
					if !tt.toServer {
						_, err = c.Write(want)
						srvErr <- err
						return
					}
					got, err := io.ReadAll(c)
					if err == nil && !bytes.Equal(got, want) {
						err = fmt.Errorf("server got %d bytes, want %d (equal prefix: %v)", len(got), len(want), bytes.HasPrefix(want, got))
					}
					if err == nil {
						_, err = fmt.Fprintf(c, "%d", len(got))
					}
					srvErr <- err
				}()
				vip := freeAddr(t, "tcp", "127.0.0.1")
				be := ln.Addr().(*net.TCPAddr).AddrPort()
				svc := tcpService(vip, "rr", be)
				apply(t, p, svc)
				before := destStats(t, p, svc.ServiceKey, be)

				c, err := net.Dial("tcp", vip.String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				var got []byte
				if tt.toServer {
					if _, err := c.Write(want); err != nil {
						t.Fatal(err)
					}
					if err := c.(*net.TCPConn).CloseWrite(); err != nil {
						t.Fatal(err)
					}
				}
				got, err = io.ReadAll(c)
				if err != nil {
					t.Fatalf("client read: %v", err)
				}
				c.Close()
				if err := <-srvErr; err != nil {
					t.Fatalf("server: %v", err)
				}
				inBytes, outBytes := uint64(0), uint64(size)
				if tt.toServer {
					if string(got) != fmt.Sprint(size) {
						t.Fatalf("server answered %q, want %d", got, size)
					}
					inBytes, outBytes = uint64(size), uint64(len(got))
				} else if !bytes.Equal(got, want) {
					t.Fatalf("client got %d bytes, want %d (equal prefix: %v)", len(got), len(want), bytes.HasPrefix(want, got))
				}
				eventually(t, "the connection to close", func() bool {
					d := destStats(t, p, svc.ServiceKey, be)
					return d.ActiveConn == 0 && d.Counters.InBytes-before.Counters.InBytes == inBytes &&
						d.Counters.OutBytes-before.Counters.OutBytes == outBytes && d.Counters.InPkts > before.Counters.InPkts
				})
			})
		}
	}
}
