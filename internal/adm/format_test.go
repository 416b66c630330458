package adm

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/govs/govs/internal/table"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

// What the oracle files cannot show: numbers past the K/M/G/T thresholds, persistence
// engine data, long names cut to ipvsadm's widths, flags of other schedulers, a zero
// mask, and govs adm's own usage text.
func TestFormatsGolden(t *testing.T) {
	m := NewModel(ModelOptions{})
	names := testResolver(t)
	names.ParseHosts(strings.NewReader("10.0.0.5 a-very-long-host-name-for-a-real-server.example.org\n" +
		"192.168.200.200 and-an-even-longer-name-for-the-virtual-address.example.org\n"))
	run := func(args string) string {
		var out bytes.Buffer
		code := Run(Env{Prog: "govs adm", Version: "govs adm test", Backend: m, Resolver: names, Stdout: &out, Stderr: &out}, strings.Fields(args))
		if code != 0 {
			fmt.Fprintf(&out, "[rc=%d]\n", code)
		}
		return out.String()
	}
	for _, c := range []string{
		"-A -t 192.168.200.200:80 -s wrr -b flag-1,flag-3 -p 60 -M 0.0.0.0",
		"-a -t 192.168.200.200:80 -r 10.0.0.5 -m -w 2",
		"-a -t 192.168.200.200:80 -r 10.0.0.6 -m",
		"-A -u 192.168.200.200:5060 -s rr -p 30 --pe sip",
		"-a -u 192.168.200.200:5060 -r 10.0.0.7 -m",
		"-A -f 4000000000 -s sh -b sh-fallback",
		"-a -f 4000000000 -r 10.0.0.8 -g",
	} {
		if out := run(c); out != "" {
			t.Fatalf("%s: %s", c, out)
		}
	}
	k80 := table.ServiceKey{Protocol: table.TCP, Addr: netip.MustParseAddrPort("192.168.200.200:80")}
	m.SetStats(table.Stats{Services: []table.ServiceStats{{
		Key:      k80,
		Counters: table.Counters{Conns: 99_999_999, InPkts: 100_000_000, OutPkts: 999_999_999_999, InBytes: 123_456_789_012_345, OutBytes: 1 << 62},
		Rates:    table.Rates{CPS: 1_000_000_000, InPPS: 5, OutPPS: 6, InBPS: 100_000_000_000, OutBPS: 7},
		Dests: []table.DestStats{{Addr: netip.MustParseAddrPort("10.0.0.5:80"), ActiveConn: 1, InActConn: 2, PersistConn: 3,
			Counters: table.Counters{Conns: 1_000_000_000}, Rates: table.Rates{CPS: 123_456_789_012, InBPS: 999_999_999}}},
	}}})
	m.SetConns([]table.Conn{
		{Protocol: table.UDP, Client: netip.MustParseAddrPort("203.0.113.9:5060"), Virtual: netip.MustParseAddrPort("192.168.200.200:5060"),
			Dest: netip.MustParseAddrPort("10.0.0.7:5060"), State: "UDP", Expires: 299 * time.Second},
		{Protocol: table.UDP, Client: netip.MustParseAddrPort("203.0.113.9:0"), Virtual: netip.MustParseAddrPort("192.168.200.200:5060"),
			Dest: netip.MustParseAddrPort("10.0.0.7:5060"), State: "NONE", Expires: 3599 * time.Second, PEName: "sip", PEData: "a84b4c76e66710"},
		{Protocol: 0, Client: netip.MustParseAddrPort("203.0.113.0:0"), Virtual: netip.MustParseAddrPort("238.107.40.0:0"),
			Dest: netip.MustParseAddrPort("10.0.0.8:0"), State: "ASSURED", Expires: 61 * time.Second},
	})
	var all strings.Builder
	for _, c := range []string{"-L", "-L -n", "-L -n --stats", "-L -n --stats --exact", "-L -n --rate", "-L -n --rate --exact",
		"-L -n --persistent-conn", "-L -n --thresholds", "-L -n --tun-info", "-S", "-S -n", "-L -c", "-L -c -n --persistent-conn", "-h"} {
		fmt.Fprintf(&all, "$ govs adm %s\n%s", c, run(c))
	}
	golden(t, "formats-extra.golden", all.String())
}

// Saving, clearing and restoring gives back the same table, whatever it holds (within
// addresses that ipvsadm's comparison orders totally).
func TestSaveRestoreRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := NewModel(ModelOptions{Salt: rapid.Uint32().Draw(t, "salt")})
		run := func(stdin string, args ...string) (string, int) {
			var out, errb bytes.Buffer
			code := Run(Env{Prog: "ipvsadm", Backend: m, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb}, args)
			return out.String() + errb.String(), code
		}
		scheds := []string{"rr", "wrr", "wlc", "sh", "mh"}
		for i := range rapid.IntRange(0, 6).Draw(t, "services") {
			svc := []string{"-t", fmt.Sprintf("10.%d.0.1:%d", i, rapid.IntRange(1, 65535).Draw(t, "port"))}
			switch rapid.IntRange(0, 3).Draw(t, "kind") {
			case 1:
				svc[0] = "-u"
			case 2:
				svc = []string{"-t", fmt.Sprintf("[2001:db8::%x]:80", i+1)}
			case 3:
				svc = []string{"-f", fmt.Sprint(i + 1)}
			}
			add := append([]string{"-A"}, svc...)
			add = append(add, "-s", rapid.SampledFrom(scheds).Draw(t, "sched"))
			if rapid.Bool().Draw(t, "persistent") {
				add = append(add, "-p", fmt.Sprint(rapid.IntRange(1, 86400).Draw(t, "timeout")))
			}
			if out, code := run("", add...); code != 0 {
				t.Fatalf("%v: %s", add, out)
			}
			for j := range rapid.IntRange(0, 4).Draw(t, "dests") {
				dest := fmt.Sprintf("10.%d.1.%d:%d", i, j+1, 8000+j)
				if svc[1][0] == '[' {
					dest = fmt.Sprintf("[2001:db8:1::%x]:80", j+1)
				}
				a := append(append([]string{"-a"}, svc...), "-r", dest, rapid.SampledFrom([]string{"-g", "-m", "-i"}).Draw(t, "fwd"),
					"-w", fmt.Sprint(rapid.IntRange(0, 100).Draw(t, "weight")))
				if out, code := run("", a...); code != 0 {
					t.Fatalf("%v: %s", a, out)
				}
			}
		}
		saved, _ := run("", "-S", "-n")
		run("", "-C")
		if out, code := run(saved, "-R"); code != 0 {
			t.Fatalf("restore: %s", out)
		}
		if again, _ := run("", "-S", "-n"); again != saved {
			t.Fatalf("after -S | -C | -R:\n%s\nwant:\n%s", again, saved)
		}
	})
}
