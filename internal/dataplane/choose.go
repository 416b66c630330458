package dataplane

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"

	"github.com/mdlayher/genetlink"
)

// Choose resolves --dataplane to the data plane govs runs, and says why, for the log and
// govs status:
//
//   - auto (the default): ipvs wherever the kernel has IPVS, as a keepalived user
//     expects; elsewhere the proxy.
//   - ipvs, proxy, xdp: that plane; ipvs on a kernel without IPVS is an error wrapping
//     ErrNotSupported that says why and what to use instead.
//
// The kernel is probed once per process (see HaveIPVS).
func Choose(name string) (chosen, reason string, err error) {
	return choose(name, HaveIPVS, registered)
}

func registered(name string) bool {
	_, ok := planes.Lookup(name)
	return ok
}

// choose is Choose with the kernel probe and the registry passed in, for tests.
func choose(name string, haveIPVS func() (bool, string), known func(string) bool) (string, string, error) {
	switch name {
	case "", "auto":
		ok, why := haveIPVS()
		if ok {
			return "ipvs", "auto: " + why, nil
		}
		// Where the XDP plane exists it takes the DR and TUN services and the proxy the
		// NAT ones; until then the proxy runs them all (as FULLNAT).
		return "proxy", "auto: " + why + "; the proxy plane runs every service", nil
	case "ipvs":
		ok, why := haveIPVS()
		if !ok {
			return "", "", fmt.Errorf("%w: --dataplane ipvs: %s; use --dataplane proxy (or auto, which picks the proxy here)", ErrNotSupported, why)
		}
		return "ipvs", "forced by --dataplane ipvs: " + why, nil
	case "proxy":
		return "proxy", "forced by --dataplane proxy", nil
	case "xdp":
		if !known("xdp") {
			return "", "", fmt.Errorf("%w: --dataplane xdp: this build has no XDP data plane; use --dataplane proxy or auto", ErrNotSupported)
		}
		return "xdp", "forced by --dataplane xdp", nil
	}
	return "", "", fmt.Errorf("--dataplane %q: want auto, ipvs, proxy or xdp", name)
}

var (
	ipvsOnce   sync.Once
	ipvsOK     bool
	ipvsReason string
)

// HaveIPVS reports whether the kernel has IPVS, and how it knows: the generic-netlink
// family "IPVS" exists, or appears after `modprobe ip_vs`. It probes once per process.
func HaveIPVS() (bool, string) {
	ipvsOnce.Do(func() {
		ipvsOK, ipvsReason = probeIPVS(lookupFamily, loadModule)
	})
	return ipvsOK, ipvsReason
}

// probeIPVS looks for the IPVS family, loading ip_vs if it is missing.
func probeIPVS(lookup func(string) error, load func(string) error) (bool, string) {
	err := lookup("IPVS")
	if err == nil {
		return true, `the kernel has IPVS (generic netlink family "IPVS")`
	}
	if lerr := load("ip_vs"); lerr != nil {
		return false, fmt.Sprintf(`the kernel has no IPVS (generic netlink family "IPVS": %v; modprobe ip_vs: %v)`, err, lerr)
	}
	if err := lookup("IPVS"); err != nil {
		return false, fmt.Sprintf(`the kernel has no IPVS (generic netlink family "IPVS" missing even after modprobe ip_vs: %v)`, err)
	}
	return true, `the kernel has IPVS (generic netlink family "IPVS" after modprobe ip_vs)`
}

func lookupFamily(name string) error {
	c, err := genetlink.Dial(nil)
	if err != nil {
		return fmt.Errorf("opening generic netlink: %w", err)
	}
	defer c.Close()
	_, err = c.GetFamily(name)
	return err
}

func loadModule(name string) error {
	out, err := exec.Command("modprobe", name).CombinedOutput()
	if err != nil {
		if msg := strings.TrimSpace(string(out)); msg != "" {
			return fmt.Errorf("%w: %s", err, msg)
		}
		return err
	}
	return nil
}
