package vrrp

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestAdvertRxBuffer checks the SO_RCVBUF an instance's advert socket gets from
// kernel_rx_buf_size and from each vrrp_rx_bufs_policy, as keepalived sizes it (the
// kernel reports twice what was set).
func TestAdvertRxBuffer(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	h := hosts["a"]
	out, err := h.Exec("cat", "/sys/class/net/eth0/mtu")
	if err != nil {
		t.Fatal(err)
	}
	mtu, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	rmemDefault, err := os.ReadFile("/proc/sys/net/core/rmem_default")
	if err != nil {
		t.Fatal(err)
	}
	dflt, _ := strconv.Atoi(strings.TrimSpace(string(rmemDefault)))
	// A VRRPv3 advert with one IPv4 address: 20 + 8 + 4 bytes.
	for _, tc := range []struct {
		name   string
		own    int
		policy RxBufs
		want   int
	}{
		{"kernel default", 0, RxBufs{}, dflt},
		{"kernel_rx_buf_size", 50000, RxBufs{Size: 60000}, 2 * 50000},
		{"size", 0, RxBufs{Size: 60000}, 2 * 60000},
		{"MTU", 0, RxBufs{PerMTU: true, Multiplier: 3}, 2 * 3 * mtu},
		{"ADVERT", 0, RxBufs{PerAdvert: true, Multiplier: 100}, 2 * 100 * 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := instanceCfg("VI_1", 70, 100, 3, time.Second, testVIP)
			in.RxBufSize = tc.own
			cfg := single(in)
			cfg.RxBufs = tc.policy
			n := startNode(t, h, cfg)
			var got int
			ok := testutil.Eventually(5*time.Second, func() bool {
				n.mu.Lock()
				defer n.mu.Unlock()
				if len(n.live) == 0 || n.live[0].sock == nil {
					return false
				}
				err := n.live[0].sock.rxRaw.Control(func(fd uintptr) {
					got, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
				})
				return err == nil
			})
			if !ok || got != tc.want {
				t.Fatalf("SO_RCVBUF %d, want %d", got, tc.want)
			}
		})
	}
}
