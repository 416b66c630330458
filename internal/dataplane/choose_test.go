package dataplane

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	with := func(ok bool) func() (bool, string) {
		return func() (bool, string) {
			if ok {
				return true, "the kernel has IPVS"
			}
			return false, "the kernel has no IPVS"
		}
	}
	noXDP := func(string) bool { return false }
	withXDP := func(n string) bool { return n == "xdp" }
	tests := []struct {
		name, flag string
		ipvs       bool
		known      func(string) bool
		want       string
		reason     string // substring
		err        string // substring; empty: no error
		notSupp    bool
	}{
		{name: "auto with IPVS", flag: "auto", ipvs: true, known: noXDP, want: "ipvs", reason: "auto: the kernel has IPVS"},
		{name: "empty means auto", flag: "", ipvs: true, known: noXDP, want: "ipvs", reason: "auto"},
		{name: "auto without IPVS", flag: "auto", ipvs: false, known: noXDP, want: "proxy", reason: "no IPVS; the proxy plane runs every service"},
		{name: "ipvs forced with IPVS", flag: "ipvs", ipvs: true, known: noXDP, want: "ipvs", reason: "forced by --dataplane ipvs"},
		{name: "ipvs forced without IPVS", flag: "ipvs", ipvs: false, known: noXDP, err: "--dataplane ipvs: the kernel has no IPVS; use --dataplane proxy", notSupp: true},
		{name: "proxy forced", flag: "proxy", ipvs: true, known: noXDP, want: "proxy", reason: "forced"},
		{name: "xdp not built", flag: "xdp", ipvs: true, known: noXDP, err: "no XDP data plane", notSupp: true},
		{name: "xdp built", flag: "xdp", ipvs: false, known: withXDP, want: "xdp", reason: "forced"},
		{name: "unknown", flag: "ebpf", ipvs: true, known: noXDP, err: `--dataplane "ebpf": want auto, ipvs, proxy or xdp`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, reason, err := choose(tc.flag, with(tc.ipvs), tc.known)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				if errors.Is(err, ErrNotSupported) != tc.notSupp {
					t.Fatalf("errors.Is(err, ErrNotSupported) = %v, want %v", !tc.notSupp, tc.notSupp)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || !strings.Contains(reason, tc.reason) {
				t.Fatalf("got %q (%q), want %q with a reason containing %q", got, reason, tc.want, tc.reason)
			}
		})
	}
}

func TestProbeIPVS(t *testing.T) {
	missing := errors.New("no such file or directory")
	tests := []struct {
		name       string
		before     error // lookup before modprobe
		load       error
		after      error // lookup after modprobe
		want       bool
		reason     string
		wantLoaded bool
	}{
		{name: "family present", want: true, reason: `generic netlink family "IPVS")`},
		{name: "loaded by modprobe", before: missing, want: true, reason: "after modprobe ip_vs", wantLoaded: true},
		{name: "modprobe fails", before: missing, load: errors.New("exit status 1: Module ip_vs not found"), reason: "modprobe ip_vs: exit status 1: Module ip_vs not found", wantLoaded: true},
		{name: "still missing", before: missing, after: missing, reason: "missing even after modprobe ip_vs", wantLoaded: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls, loaded := 0, false
			lookup := func(name string) error {
				if name != "IPVS" {
					t.Fatalf("looked up %q", name)
				}
				calls++
				if calls == 1 {
					return tc.before
				}
				return tc.after
			}
			load := func(name string) error {
				if name != "ip_vs" {
					t.Fatalf("loaded %q", name)
				}
				loaded = true
				return tc.load
			}
			ok, reason := probeIPVS(lookup, load)
			if ok != tc.want || !strings.Contains(reason, tc.reason) || loaded != tc.wantLoaded {
				t.Fatalf("probe = %v %q (loaded %v), want %v with %q (loaded %v)", ok, reason, loaded, tc.want, tc.reason, tc.wantLoaded)
			}
		})
	}
}

// TestChooseOnThisHost runs the real probe: on a kernel without IPVS (the development
// machines) auto picks the proxy and a forced ipvs fails with the reason; in the qemu
// guest (test/ipvs-oracle) GOVS_EXPECT_IPVS=1 says the kernel has it.
func TestChooseOnThisHost(t *testing.T) {
	have, why := HaveIPVS()
	t.Logf("HaveIPVS: %v (%s)", have, why)
	got, reason, err := Choose("auto")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("auto -> %s (%s)", got, reason)
	if expectIPVS() && (!have || got != "ipvs") {
		t.Fatalf("the kernel should have IPVS here: auto chose %s (%s)", got, reason)
	}
	if have != (got == "ipvs") {
		t.Fatalf("auto chose %s while HaveIPVS = %v", got, have)
	}
	_, _, err = Choose("ipvs")
	if have != (err == nil) {
		t.Fatalf("--dataplane ipvs: err = %v while HaveIPVS = %v", err, have)
	}
	if err != nil {
		t.Logf("--dataplane ipvs: %v", err)
		if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "use --dataplane proxy") {
			t.Fatalf("the error should wrap ErrNotSupported and say what to use: %v", err)
		}
	}
}

// expectIPVS is set inside the IPVS guest, where the kernel must have IPVS.
func expectIPVS() bool { return os.Getenv("GOVS_EXPECT_IPVS") == "1" }
