package check

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// NetlinkAddrs watches the host's addresses over rtnetlink (the notifications of
// RTMGRP_IPV4_IFADDR and RTMGRP_IPV6_IFADDR, after a dump of the present ones), as
// keepalived's netlink reflector does for ha_suspend.
type NetlinkAddrs struct {
	// NS is the network namespace to watch; the zero value watches the caller's (a
	// handle is never 0: descriptor 0 is standard input).
	NS netns.NsHandle
	// RcvBuf sizes the socket's receive buffer, with SO_RCVBUFFORCE when RcvBufForce
	// (lvs_netlink_monitor_rcv_bufs and _force); 0: the kernel's default.
	RcvBuf      int
	RcvBufForce bool
}

var _ AddrWatcher = NetlinkAddrs{}

// subscribeOptions asks for the present addresses first, in w's namespace when it
// names one.
func (w NetlinkAddrs) subscribeOptions(onError func(error)) netlink.AddrSubscribeOptions {
	opts := netlink.AddrSubscribeOptions{
		ListExisting:           true,
		ErrorCallback:          onError,
		ReceiveBufferSize:      w.RcvBuf,
		ReceiveBufferForceSize: w.RcvBufForce,
	}
	// IsOpen is true of the zero value too, which would ask netlink to enter
	// "namespace 0" and fail: the daemon's watch never ran.
	if w.NS.IsOpen() && w.NS != 0 {
		ns := w.NS
		opts.Namespace = &ns
	}
	return opts
}

// Watch implements AddrWatcher.
func (w NetlinkAddrs) Watch(ctx context.Context, changes chan<- AddrChange) error {
	updates := make(chan netlink.AddrUpdate, 64)
	done := make(chan struct{})
	// netlink reports both what ends the subscription (a failed receive, after which
	// it closes updates) and what it skips (a message from another sender); the last
	// one explains a closed subscription.
	var lastErr atomic.Pointer[error]
	opts := w.subscribeOptions(func(err error) { lastErr.Store(&err) })
	if err := netlink.AddrSubscribeWithOptions(updates, done, opts); err != nil {
		close(done)
		return fmt.Errorf("ha_suspend: watching addresses: %w", err)
	}
	defer func() {
		// Closing done closes the socket; netlink's reader then closes updates, once
		// any send it is blocked in has been taken.
		close(done)
		if updates != nil {
			for range updates {
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-updates:
			if !ok {
				updates = nil // closed: nothing left to drain
				if p := lastErr.Load(); p != nil {
					return fmt.Errorf("ha_suspend: watching addresses: %w", *p)
				}
				return fmt.Errorf("ha_suspend: the address subscription ended")
			}
			addr, ok := netip.AddrFromSlice(u.LinkAddress.IP)
			if !ok {
				continue
			}
			select {
			case changes <- AddrChange{Addr: addr.Unmap(), Link: u.LinkIndex, Added: u.NewAddr}:
			case <-ctx.Done():
				return nil
			}
		}
	}
}
