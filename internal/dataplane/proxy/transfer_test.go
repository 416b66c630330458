package proxy

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
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

// pipeCounts reports, over all loops, the pipes open and the pipes idle in the pools.
func pipeCounts(p *Plane) (open, idle int) {
	for _, l := range p.loops {
		l.runWait(func() {
			open += l.pipes.open
			idle += len(l.pipes.idle)
		})
	}
	return open, idle
}

// TestSplicePipes: a bulk transfer goes through a pipe, and every pipe is back in its
// pool once the connection is done, whether it finished or was reset mid-transfer
// (then the pipe, which may hold data, is closed rather than reused).
func TestSplicePipes(t *testing.T) {
	const size = 8 << 20
	want := pattern(size)
	tests := []struct {
		name  string
		reset bool // the client resets the connection after the first megabyte
	}{
		{"complete", false},
		{"client reset mid-transfer", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPlane(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				c.Write(want)
			}()
			vip := freeAddr(t, "tcp", "127.0.0.1")
			be := ln.Addr().(*net.TCPAddr).AddrPort()
			svc := tcpService(vip, "rr", be)
			apply(t, p, svc)
			c, err := net.Dial("tcp", vip.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if tt.reset {
				if _, err := io.ReadFull(c, make([]byte, 1<<20)); err != nil {
					t.Fatal(err)
				}
				if open, _ := pipeCounts(p); open == 0 {
					t.Error("a megabyte in and no pipe opened: the transfer is not spliced")
				}
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			} else {
				got, err := io.ReadAll(c)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("got %d bytes, want %d (equal prefix: %v)", len(got), len(want), bytes.HasPrefix(want, got))
				}
				if open, _ := pipeCounts(p); open == 0 {
					t.Error("no pipe opened: the transfer was not spliced")
				}
				c.Close()
			}
			eventually(t, "every pipe back in its pool", func() bool {
				d := destStats(t, p, svc.ServiceKey, be)
				open, idle := pipeCounts(p)
				return d.ActiveConn == 0 && d.InActConn <= 1 && open == idle
			})
			if d := destStats(t, p, svc.ServiceKey, be); !tt.reset && d.Counters.OutBytes != size {
				t.Errorf("OutBytes %d, want %d", d.Counters.OutBytes, size)
			}
		})
	}
}

func TestPipeLimit(t *testing.T) {
	tests := []struct {
		nofile uint64
		loops  int
		want   int
	}{
		{1024, 1, 32},
		{20000, 1, maxPipesPerLoop},
		{20000, 8, 78},
		{64, 4, 0},
		{1 << 20, 0, maxPipesPerLoop},
	}
	for _, tt := range tests {
		if got := pipeLimitFor(tt.nofile, tt.loops); got != tt.want {
			t.Errorf("pipeLimitFor(%d, %d) = %d, want %d", tt.nofile, tt.loops, got, tt.want)
		}
	}
}

// TestSpliceSlowReader: while a spliced transfer waits on a client that stopped reading,
// the loop serves other connections (no splice blocks it), and the transfer resumes
// complete when the client reads again (the writable edge is not lost).
func TestSpliceSlowReader(t *testing.T) {
	p, err := New(slog.New(slog.DiscardHandler), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		p.Close(ctx)
	}()
	const size = 32 << 20
	want := pattern(size)
	bulk, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer bulk.Close()
	go func() {
		c, err := bulk.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(want)
	}()
	echo := startBackend(t, "echo", "127.0.0.1", false)
	defer echo.stop()
	vipBulk, vipEcho := freeAddr(t, "tcp", "127.0.0.1"), freeAddr(t, "tcp", "127.0.0.1")
	apply(t, p, tcpService(vipBulk, "rr", bulk.Addr().(*net.TCPAddr).AddrPort()), tcpService(vipEcho, "rr", echo.addr()))

	c, err := net.Dial("tcp", vipBulk.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, size)
	if _, err := io.ReadFull(c, got[:1<<20]); err != nil {
		t.Fatal(err)
	}
	// The client pauses; the proxy's socket towards it fills up.
	for i := 0; i < 3; i++ {
		start := time.Now()
		if name := whoAnswers(t, vipEcho); name != "echo" {
			t.Fatalf("other service answered %q", name)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("another connection took %v while a transfer waited: the loop is blocked", d)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := io.ReadFull(c, got[1<<20:]); err != nil {
		t.Fatalf("resuming the transfer: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the transfer arrived altered")
	}
}

// TestRawWaitLeavesAP: loops hold a P while they wait only as long as one P stays
// free for the rest of the process.
func TestRawWaitLeavesAP(t *testing.T) {
	held := int(rawWaiters.Load()) // loops of planes still open
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(held + 2))
	if !reserveRawWait() {
		t.Fatal("with two Ps beyond those held, one more loop may hold one")
	}
	if reserveRawWait() {
		t.Fatal("the last free P was given to a loop")
	}
	releaseRawWait()
	if !reserveRawWait() {
		t.Fatal("a released P was not reusable")
	}
	releaseRawWait()
}
