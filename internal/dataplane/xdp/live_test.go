package xdp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netns"

	"github.com/govs/govs/internal/testutil"
)

// liveFrames is BPF_F_TEST_XDP_LIVE_FRAMES: the test run sends what the program
// forwards for real.
const liveFrames = 1 << 1

// livePair is two namespaces joined by a veth pair: the director's end and a real
// server's, whose eth0 drops every frame in XDP and counts it.
type livePair struct {
	dir, rs       string // namespace names
	dirMAC, rsMAC net.HardwareAddr
	dirIndex      int
}

var liveSeq atomic.Int32

func newLivePair(b *testing.B, sink *ebpf.Program, peer *ebpf.Program) *livePair {
	b.Helper()
	testutil.NeedCommand(b, "ip")
	testutil.NeedCommand(b, "ethtool")
	prefix := fmt.Sprintf("gx%d-%d-", os.Getpid(), liveSeq.Add(1))
	lp := &livePair{dir: prefix + "dir", rs: prefix + "rs"}
	ip := func(args ...string) {
		b.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			b.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, ns := range []string{lp.dir, lp.rs} {
		ip("netns", "add", ns)
		b.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	}
	ip("-n", lp.dir, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", lp.rs)
	for _, ns := range []string{lp.dir, lp.rs} {
		ip("-n", ns, "link", "set", "eth0", "up")
	}
	// The real server's end drops in XDP (which also lets it take XDP frames); the
	// director's end runs a do-nothing program, as a director's interface runs govs.
	inNetns(b, lp.rs, func() error {
		ifc, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		lp.rsMAC = ifc.HardwareAddr
		l, err := link.AttachXDP(link.XDPOptions{Program: sink, Interface: ifc.Index, Flags: link.XDPDriverMode})
		if err != nil {
			return err
		}
		b.Cleanup(func() { l.Close() })
		return nil
	})
	inNetns(b, lp.dir, func() error {
		ifc, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		lp.dirMAC, lp.dirIndex = ifc.HardwareAddr, ifc.Index
		l, err := link.AttachXDP(link.XDPOptions{Program: peer, Interface: ifc.Index, Flags: link.XDPDriverMode})
		if err != nil {
			return err
		}
		b.Cleanup(func() { l.Close() })
		return nil
	})
	return lp
}

// inNetns runs f on a thread in namespace ns.
func inNetns(b *testing.B, ns string, f func() error) {
	b.Helper()
	errc := make(chan error, 1)
	go func() {
		// The thread is left to die with its goroutine, not returned to the runtime in
		// the other namespace.
		runtime.LockOSThread()
		h, err := netns.GetFromName(ns)
		if err != nil {
			errc <- err
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	if err := <-errc; err != nil {
		b.Fatalf("in namespace %s: %v", ns, err)
	}
}

// dropped is how many frames the real server's end has dropped in XDP.
func (lp *livePair) dropped(b *testing.B) uint64 {
	b.Helper()
	out, err := exec.Command("ip", "netns", "exec", lp.rs, "ethtool", "-S", "eth0").CombinedOutput()
	if err != nil {
		b.Fatalf("ethtool -S: %v\n%s", err, out)
	}
	var n uint64
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && strings.HasSuffix(k, "_xdp_drops") && strings.HasPrefix(k, "rx_queue_") {
			x, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			n += x
		}
	}
	return n
}

// BenchmarkLiveFrames uses the kernel's live-frames test-run mode as a packet generator:
// frames of one established flow enter the director's end of a veth pair, the program
// sends them on (XDP_TX), and the real server's end drops them in XDP and counts them.
// It reports the packets/s generated and delivered, for govs_xdp and for the trivial
// XDP_TX program given frames already addressed to the real server. The test run and
// the receiving end's NAPI poll run on the calling CPU, so the rates are per core.
// Goal (issue 8): govs_xdp delivers at least 80% of the trivial program's rate.
func BenchmarkLiveFrames(b *testing.B) {
	p := testPlane(b)
	var triv trivialObjects
	if err := loadTrivialObjects(&triv, nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { triv.Close() })
	lp := newLivePair(b, triv.XdpDrop, triv.XdpPass)
	p.resolve = func(_ context.Context, addrs []netip.Addr) map[netip.Addr]nextHop {
		out := map[netip.Addr]nextHop{}
		for _, a := range addrs {
			out[a] = nextHop{ifindex: lp.dirIndex, mac: lp.rsMAC, srcMAC: lp.dirMAC, src: dirIP, mtu: 1500}
		}
		return out
	}
	apply(b, p, drService("wrr", dr(rs1, 1)))

	frame := tcpFrame(client(1), vip, ack, 64)
	copy(frame[0:6], lp.dirMAC)
	addressed := append([]byte(nil), frame...)
	copy(addressed[0:6], lp.rsMAC)
	copy(addressed[6:12], lp.dirMAC)
	// Open the flow (one SYN, not live).
	inNetns(b, lp.dir, func() error {
		syn := tcpFrame(client(1), vip, syn, 0)
		ret, err := p.objs.GovsXdp.Run(&ebpf.RunOptions{Data: syn, Context: xdpMD{DataEnd: uint32(len(syn)), IngressIfindex: uint32(lp.dirIndex)}})
		if err == nil && ret != xdpTX {
			err = fmt.Errorf("SYN: action %d, want XDP_TX", ret)
		}
		return err
	})

	const batch = 1 << 20
	for _, c := range []struct {
		name  string
		prog  *ebpf.Program
		frame []byte
	}{
		{"trivial-tx", triv.XdpTx, addressed},
		{"govs", p.objs.GovsXdp, frame},
	} {
		b.Run(c.name, func(b *testing.B) {
			var sent, delivered uint64
			var took time.Duration
			for b.Loop() {
				before := lp.dropped(b)
				start := time.Now()
				inNetns(b, lp.dir, func() error {
					_, err := c.prog.Run(&ebpf.RunOptions{
						Data:    c.frame,
						Repeat:  batch,
						Flags:   liveFrames,
						Context: xdpMD{DataEnd: uint32(len(c.frame)), IngressIfindex: uint32(lp.dirIndex)},
					})
					return err
				})
				took += time.Since(start)
				sent += batch
				// The sink also drops what the interfaces send themselves (IPv6 router
				// solicitations): a handful at most.
				delivered += min(lp.dropped(b)-before, batch)
			}
			b.ReportMetric(float64(sent)/took.Seconds(), "sent-pkt/s")
			b.ReportMetric(float64(delivered)/took.Seconds(), "delivered-pkt/s")
			if delivered < sent/2 {
				b.Errorf("%d of %d frames delivered", delivered, sent)
			}
		})
	}
}
