package adm

import (
	"bufio"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/table"
)

// Cases the oracle files do not cover, worked out from ipvsadm's and popt's source.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		argv string
		msg  string
		code int
	}{
		{"", "Try `ipvsadm -h' or 'ipvsadm --help' for more information.", 255},
		{"foo", "Try `ipvsadm -h' or 'ipvsadm --help' for more information.", 255},
		{"-L --stats=1", "--stats=1: option does not take an argument", 255},
		{"-Lq", "-Lq: unknown option", 255},
		{"-L --bogus", "--bogus: unknown option", 255},
		{"-A -t", "-t: missing argument", 255},
		{"-L foo", "unexpected argument foo", 2},
		{"-L -- -n", "unexpected argument -n", 2},
		{"-AE -t 1.2.3.4:80", "invalid option `-AE'", 2},
		{"-A -t 1.2.3.4:80 -h", "invalid option `-h'", 2},
		{"--start-daemon primary", "illegal start-daemon parameter specified", 2},
		{"--stop-daemon primary", "illegal start_daemon specified", 2},
		{"--start-daemon master --mcast-group 10.0.0.1", "invalid IPv4 mcast-group `10.0.0.1'", 2},
		{"--start-daemon master --mcast-group ff02::1x", "invalid IPv6 mcast-group `ff02::1x'", 2},
		{"--start-daemon master --mcast-port 0", "illegal mcast-port specified", 2},
		{"--start-daemon master --mcast-ttl 256", "illegal mcast-ttl specified", 2},
		{"--start-daemon master --sync-maxlen 65508", "illegal sync-maxlen specified", 2},
		{"--start-daemon master --syncid 256", "illegal syncid specified", 2},
		{"-A -t 1.2.3.4:80 -M 1.2.3", "", 0},
		{"-A -t 1.2.3.4:80 -M bogus.invalid", "illegal virtual server persistent mask specified", 2},
		{"-A -t [2001:db8::1]:80 -M 129", "illegal ipv6 netmask specified", 2},
		{"-A -t 80", "illegal virtual server address[:port] specified", 2},
		{"-A -t [2001:db8::1]", "illegal virtual server address[:port] specified", 2},
		{"-a -t 1.2.3.4:80 -r bogus.invalid", "illegal real server address[:port] specified", 2},
		{"-a -t 1.2.3.4:80 -r 10.0.0.1 -y -1", "illegal l_threshold specified", 2},
		{"-a -t 1.2.3.4:80 -r 10.0.0.1 -i --tun-type gue --tun-port 0", "illegal tunnel port specified", 2},
		{"-a -t 1.2.3.4:80 -r 10.0.0.1 -i --tun-type gre --tun-nocsum --tun-csum", "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gre' tunnel type", 2},
		{"-A -t 1.2.3.4:80 -b ,", "invalid scheduler flag `,'", 2},
		{"-A -f 4294967296", "invalid fwmark value `4294967296' specified", 2},
		{"-A -u 1.2.3.4:53 -o -o", "multiple 'ops' options specified", 2},
		{"-L -c --timeout", "The option 'timeout' conflicts with the 'connection' option in the 'list' command", 2},
		{"--set 1 2 3 4", "unexpected argument 4", 2},
		{"--set 1 2 2678401", "invalid timeout value `2678401' specified", 2},
		{"-C -n", "Illegal 'numeric' option with the 'flush' command", 2},
		{"-R -n", "Illegal 'numeric' option with the 'restore' command", 2},
		{"--stop-daemon master --mcast-interface eth0", "Illegal 'mcast-interface' option with the 'stop-daemon' command", 2},
	}
	for _, tt := range tests {
		t.Run(tt.argv, func(t *testing.T) {
			_, err := Parse("ipvsadm", strings.Fields(tt.argv), &Names{})
			if tt.code == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			pe, ok := err.(*Error)
			if !ok || pe.Msg != tt.msg || pe.Code != tt.code {
				t.Fatalf("got %#v, want %q (exit %d)", err, tt.msg, tt.code)
			}
		})
	}
}

func TestParseCommands(t *testing.T) {
	v4 := netip.MustParseAddrPort
	tests := []struct {
		argv string
		want Command
	}{
		{"-A -t 10.0.0.1:80 -srr -p", Command{Op: OpAddService, HasService: true, Service: table.Service{
			ServiceKey: table.ServiceKey{Protocol: table.TCP, Addr: v4("10.0.0.1:80")}, Scheduler: "rr",
			Persistence: table.Persistence{Timeout: 360 * time.Second, PrefixLen: 32}}}},
		// -p takes no option as its value; --scheduler=sh and the -b check run after every option.
		{"-A -u 10.0.0.1:53 -p -M 255.255.0.0 -b sh-port --scheduler=sh", Command{Op: OpAddService, HasService: true, Service: table.Service{
			ServiceKey: table.ServiceKey{Protocol: table.UDP, Addr: v4("10.0.0.1:53")}, Scheduler: "sh", Flags: table.SchedFlag2,
			Persistence: table.Persistence{Timeout: 360 * time.Second, PrefixLen: 16}}}},
		// inet_aton's short forms and a non-prefix mask.
		{"-A -t 10.1:80 -p 5 -M 255.0.255.0", Command{Op: OpAddService, HasService: true, Service: table.Service{
			ServiceKey: table.ServiceKey{Protocol: table.TCP, Addr: v4("10.0.0.1:80")}, Scheduler: "wlc",
			Persistence: table.Persistence{Timeout: 5 * time.Second, Mask: netip.MustParseAddr("255.0.255.0")}}}},
		// -M before an IPv6 service is read as IPv4 and then reset by the address.
		{"-A -M 64 -p -u [2001:db8::1]:53", Command{Op: OpAddService, HasService: true, Service: table.Service{
			ServiceKey: table.ServiceKey{Protocol: table.UDP, Addr: v4("[2001:db8::1]:53")}, Scheduler: "wlc",
			Persistence: table.Persistence{Timeout: 360 * time.Second, PrefixLen: 128}}}},
		// DR forces the service port; the cluster -rX gives -r its value.
		{"-a -t 10.0.0.1:80 -r10.0.0.2:8080 -w 0 -x 10", Command{Op: OpAddDest, HasService: true,
			Service: table.Service{ServiceKey: table.ServiceKey{Protocol: table.TCP, Addr: v4("10.0.0.1:80")}, Persistence: table.Persistence{PrefixLen: 32}},
			Dest:    table.Dest{Addr: v4("10.0.0.2:80"), Weight: 0, Method: table.Route, UThreshold: 10}}},
		{"-e -f 5 -r 10.0.0.2 -i --tun-type gue --tun-port 6080 --tun-remcsum", Command{Op: OpEditDest, HasService: true,
			Service: table.Service{ServiceKey: table.ServiceKey{FWMark: 5}, Persistence: table.Persistence{PrefixLen: 32}},
			Dest:    table.Dest{Addr: v4("10.0.0.2:0"), Weight: 1, Method: table.Tunnel, TunnelType: "gue", TunnelPort: 6080, TunnelFlags: "remcsum"}}},
		{"--set 0 60 10", Command{Op: OpSetTimeouts, Service: table.Service{Persistence: table.Persistence{PrefixLen: 32}},
			Timeouts: table.Timeouts{TCPFin: 60 * time.Second, UDP: 10 * time.Second}}},
		{"--start-daemon backup --syncid 7", Command{Op: OpStartDaemon, Service: table.Service{Persistence: table.Persistence{PrefixLen: 32}},
			Daemon: Daemon{State: DaemonBackup, Interface: "eth0", SyncID: 7}}},
		{"-Ln --sort --rate -X", Command{Op: OpList, Service: table.Service{Persistence: table.Persistence{PrefixLen: 32}},
			List: ListOptions{Numeric: true, Rate: true, Exact: true}}},
		{"-h -A", Command{Op: OpHelp}},
	}
	for _, tt := range tests {
		t.Run(tt.argv, func(t *testing.T) {
			got, err := Parse("ipvsadm", strings.Fields(tt.argv), &Names{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Service.Scheduler == "" && tt.want.Service.Scheduler == "" {
				got.Service.Scheduler = ""
			}
			if !equalCommand(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func equalCommand(a, b Command) bool {
	return a.Op == b.Op && a.HasService == b.HasService && a.List == b.List && a.Daemon == b.Daemon &&
		a.Timeouts == b.Timeouts && a.Dest == b.Dest && a.Service.ServiceKey == b.Service.ServiceKey &&
		a.Service.Scheduler == b.Service.Scheduler && a.Service.Flags == b.Service.Flags &&
		a.Service.Persistence == b.Service.Persistence && a.Service.OnePacket == b.Service.OnePacket
}

func TestInetAton(t *testing.T) {
	tests := map[string]string{
		"10.0.0.1": "10.0.0.1", "10.1": "10.0.0.1", "10.1.2": "10.1.0.2", "167772161": "10.0.0.1",
		"0x0a.0.0.1": "10.0.0.1", "012.0.0.1": "10.0.0.1", "1.2.3.4 trailing": "1.2.3.4",
		"1.2.3.4.5": "", "256.0.0.1": "", "08.0.0.1": "", "1.2.3.256": "", "": "", "a.b.c.d": "", "1..2": "",
		"4294967296": "", "0x": "", "1.2.3.": "",
	}
	for in, want := range tests {
		a, ok := inetAton(in)
		got := ""
		if ok {
			got = a.String()
		}
		if got != want {
			t.Errorf("inetAton(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRestoreLines(t *testing.T) {
	tests := []struct {
		in   string
		want [][]string
	}{
		{"-C\n", [][]string{{"-C"}}},
		{"ipvsadm -A -t x\n\n  \t\n-C", [][]string{{"-A", "-t", "x"}, {}, {}, {"-C"}}},
		{"-C \n-L", [][]string{{"-C"}, {"-L"}}},
		{"-C\n-L \t", [][]string{{"-C"}}}, // blanks before the end of input lose the line, as in ipvsadm
		{"a\r\nb ipvsadm c\n", [][]string{{"a"}, {"b", "c"}}},
	}
	for _, tt := range tests {
		lr := &lineReader{r: newBufReader(tt.in)}
		var got [][]string
		for range 100 {
			words, ok := lr.next()
			if !ok {
				break
			}
			got = append(got, words)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if strings.Join(got[i], "|") != strings.Join(tt.want[i], "|") {
				t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
			}
		}
	}
}

func newBufReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
