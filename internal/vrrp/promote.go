package vrrp

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/govs/govs/internal/nsrun"
	"github.com/vishvananda/netns"
)

// sysctlRoot is where the network sysctls are read and written. /proc/sys/net shows
// the network namespace of the thread that opens the file, so the promoter opens it
// from inside the node's namespace.
const sysctlRoot = "/proc/sys"

// promoter keeps net.ipv4.conf.IF.promote_secondaries at 1 on the interfaces of
// instances with promote_secondaries, as keepalived does: an interface already at 1 is
// left alone (and left at 1 afterwards); one the node switched on is switched back off
// when no instance needs it any more, and at the latest when the node stops. Without
// it, removing a VIP that is the primary address of its subnet takes every secondary
// address of that subnet with it.
type promoter struct {
	ns     netns.NsHandle
	logger *slog.Logger
	root   string
	// ours are the interfaces this node set to 1, and must reset.
	ours map[string]bool
}

func newPromoter(ns netns.NsHandle, logger *slog.Logger) *promoter {
	return &promoter{ns: ns, logger: logger, root: sysctlRoot, ours: map[string]bool{}}
}

// promoteInterfaces lists the interfaces cfg wants promote_secondaries on: the one an
// instance's addresses go on (its VMAC when it has one), as keepalived's vrrp->ifp.
func promoteInterfaces(cfg Config) map[string]bool {
	out := map[string]bool{}
	for _, in := range cfg.Instances {
		if !in.PromoteSecondaries {
			continue
		}
		if in.UseVMAC {
			out[in.VMACName] = true
		} else {
			out[in.Interface] = true
		}
	}
	return out
}

// apply sets the flag on the interfaces cfg needs and resets those the node set that
// cfg no longer needs. Failures are logged: a missing flag changes which addresses
// survive a VIP's removal, never whether the instance runs.
func (p *promoter) apply(cfg Config) {
	want := promoteInterfaces(cfg)
	_ = nsrun.Do(p.ns, func() error {
		for ifname := range p.ours {
			if !want[ifname] {
				p.reset(ifname)
			}
		}
		for ifname := range want {
			if !p.ours[ifname] {
				p.set(ifname)
			}
		}
		return nil
	})
}

func (p *promoter) path(ifname string) string {
	return filepath.Join(p.root, "net/ipv4/conf", ifname, "promote_secondaries")
}

func (p *promoter) set(ifname string) {
	b, err := os.ReadFile(p.path(ifname))
	if err != nil {
		p.logger.Warn("promote_secondaries: reading the interface's flag", "interface", ifname, "err", err)
		return
	}
	if strings.TrimSpace(string(b)) == "1" {
		return // someone else's setting: keepalived leaves it, and does not reset it
	}
	if err := os.WriteFile(p.path(ifname), []byte("1\n"), 0); err != nil {
		p.logger.Warn("promote_secondaries: setting the interface's flag", "interface", ifname, "err", err)
		return
	}
	p.ours[ifname] = true
}

func (p *promoter) reset(ifname string) {
	delete(p.ours, ifname)
	err := os.WriteFile(p.path(ifname), []byte("0\n"), 0)
	if err != nil && !errors.Is(err, fs.ErrNotExist) { // a removed VMAC has nothing to reset
		p.logger.Warn("promote_secondaries: resetting the interface's flag", "interface", ifname, "err", err)
	}
}
