// Command govs-proxy runs the govs proxy data plane alone, for benchmarks: one TCP
// virtual service on -l balanced over -b with the scheduler -s. It stays in the
// foreground until SIGINT or SIGTERM. With -cpuprofile it writes a pprof CPU profile.
//
//	govs-proxy -l 127.0.0.1:8080 -b 127.0.0.1:9001,127.0.0.1:9002 [-s rr] [-proxy-protocol 0]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/govs/govs/internal/dataplane/proxy"
	"github.com/govs/govs/internal/table"
)

func main() {
	listen := flag.String("l", "127.0.0.1:8080", "virtual service address")
	backends := flag.String("b", "", "real servers, comma separated addr:port")
	scheduler := flag.String("s", "rr", "scheduler")
	udp := flag.Bool("udp", false, "UDP service instead of TCP")
	pp := flag.Int("proxy-protocol", 0, "PROXY protocol version towards real servers (0: off)")
	loops := flag.Int("loops", 0, "event loops (0: the plane's default, one per two CPUs)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if err := run(*listen, *backends, *scheduler, *udp, *pp, *loops, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "govs-proxy:", err)
		os.Exit(1)
	}
}

func run(listen, backends, scheduler string, udp bool, pp, loops int, cpuprofile string) error {
	vip, err := netip.ParseAddrPort(listen)
	if err != nil {
		return fmt.Errorf("-l: %w", err)
	}
	proto := table.TCP
	if udp {
		proto = table.UDP
	}
	svc := table.Service{
		ServiceKey: table.ServiceKey{Protocol: proto, Addr: vip},
		Scheduler:  scheduler, ProxyProto: pp, Name: "govs-proxy -l",
	}
	for _, b := range strings.Split(backends, ",") {
		ap, err := netip.ParseAddrPort(strings.TrimSpace(b))
		if err != nil {
			return fmt.Errorf("-b %q: %w", b, err)
		}
		svc.Dests = append(svc.Dests, table.Dest{Addr: ap, Weight: 1, Method: table.Masquerade})
	}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	p, err := proxy.New(slog.New(slog.NewTextHandler(os.Stderr, nil)), loops)
	if err != nil {
		return err
	}
	if err := p.Apply(context.Background(), table.Table{Services: []table.Service{svc}}); err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return p.Close(ctx)
}
