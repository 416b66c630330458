package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/govs/govs/internal/realserver"
)

func init() {
	commands["realserver"] = command{
		summary: "prepare this host as an LVS-DR/TUN real server (VIPs on lo, ARP sysctls)",
		run:     runRealserver,
	}
}

func runRealserver(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("govs realserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	vipList := fs.String("vip", "", "comma-separated virtual addresses (IPv4 or IPv6)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: govs realserver up|down|status --vip VIP[,VIP...]

What the LVS-DR real-server scripts do: "up" adds each VIP as a host address
(/32 or /128) on lo and sets net.ipv4.conf.{all,lo}.arp_ignore=1 and
arp_announce=2, so this host accepts packets for the VIPs that the director
forwards unchanged but never answers ARP for them. "down" removes the VIPs and,
once none is left on lo, restores both sysctls to 0. "status" lists the VIPs on
lo and the sysctls. Needs root (CAP_NET_ADMIN).`)
		fs.PrintDefaults()
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if err := fs.Parse(args); err == flag.ErrHelp {
			return 0
		}
		fs.Usage()
		return 2
	}
	action := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	var host realserver.Host
	switch action {
	case "up", "down":
		vips, err := realserver.ParseVIPs(*vipList)
		if err != nil {
			fmt.Fprintln(stderr, "govs realserver:", err)
			return 2
		}
		op := host.Up
		if action == "down" {
			op = host.Down
		}
		if err := op(vips); err != nil {
			fmt.Fprintln(stderr, "govs realserver:", err)
			return 1
		}
		return 0
	case "status":
		vips, err := host.VIPs()
		if err != nil {
			fmt.Fprintln(stderr, "govs realserver:", err)
			return 1
		}
		fmt.Fprintf(stdout, "VIPs on lo: %v\n", vips)
		for _, dev := range []string{"all", "lo"} {
			for _, name := range []string{"arp_ignore", "arp_announce"} {
				v, err := host.Sysctl(dev, name)
				if err != nil {
					fmt.Fprintln(stderr, "govs realserver:", err)
					return 1
				}
				fmt.Fprintf(stdout, "net.ipv4.conf.%s.%s = %s\n", dev, name, v)
			}
		}
		return 0
	}
	fmt.Fprintf(stderr, "govs realserver: unknown action %q (up, down or status)\n", action)
	return 2
}
