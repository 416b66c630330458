package vrrp

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/govs/govs/internal/nsrun"
	"github.com/vishvananda/netns"
)

// disableLocalIGMP is disable_local_igmp: net.ipv4.igmp_link_local_mcast_reports goes
// to 0 in the node's namespace while the node runs, so that no IGMP report for a
// 224.0.0.0/24 group (VRRP's own) leaves a VMAC with the virtual MAC; restore puts back
// the 1 it found. A 0 found is left alone, as keepalived leaves it.
func disableLocalIGMP(ns netns.NsHandle, logger *slog.Logger) (restore func()) {
	path := filepath.Join(sysctlRoot, "net/ipv4/igmp_link_local_mcast_reports")
	changed := false
	_ = nsrun.Do(ns, func() error {
		b, err := os.ReadFile(path)
		switch {
		case err != nil:
			logger.Warn("disable_local_igmp: the kernel has no igmp_link_local_mcast_reports", "err", err)
		case strings.TrimSpace(string(b)) == "1":
			if err := os.WriteFile(path, []byte("0\n"), 0); err != nil {
				logger.Warn("disable_local_igmp: setting igmp_link_local_mcast_reports to 0", "err", err)
			} else {
				changed = true
			}
		}
		return nil
	})
	return func() {
		if !changed {
			return
		}
		_ = nsrun.Do(ns, func() error {
			if err := os.WriteFile(path, []byte("1\n"), 0); err != nil {
				logger.Warn("disable_local_igmp: restoring igmp_link_local_mcast_reports", "err", err)
			}
			return nil
		})
	}
}
