package check

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
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
	// Logger, when set, hears of notifications lost and followed anew.
	Logger *slog.Logger
}

var _ AddrWatcher = NetlinkAddrs{}

// subscribeOptions subscribes in w's namespace when it names one.
func (w NetlinkAddrs) subscribeOptions(onError func(error)) netlink.AddrSubscribeOptions {
	opts := netlink.AddrSubscribeOptions{
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

// Watch implements AddrWatcher. When the notifications stop (their socket overflowed:
// a failed receive ends a subscription), it subscribes again and reports what changed
// meanwhile, from a fresh list of the addresses; it fails only when it cannot.
func (w NetlinkAddrs) Watch(ctx context.Context, changes chan<- AddrChange) error {
	present := map[addrOnLink]bool{} // as reported
	send := func(ch AddrChange) bool {
		select {
		case changes <- ch:
			if k := (addrOnLink{ch.Addr, ch.Link}); ch.Added {
				present[k] = true
			} else {
				delete(present, k)
			}
			return true
		case <-ctx.Done():
			return false
		}
	}
	for first := true; ; first = false {
		if !first {
			// A subscription that keeps failing is not retried in a tight loop.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
		}
		sub, err := w.subscribe()
		if err != nil {
			return err
		}
		if !first && w.Logger != nil {
			w.Logger.Warn("ha_suspend: address notifications stopped; following them anew (raise lvs_netlink_monitor_rcv_bufs if this repeats)", "err", sub.lastErr())
		}
		// Subscribed first, listed then: no change falls between the two.
		now, err := w.list()
		if err != nil {
			sub.close()
			return err
		}
		for k := range present {
			if !now[k] && !send(AddrChange{Addr: k.addr, Link: k.link}) {
				sub.close()
				return nil
			}
		}
		for k := range now {
			if !present[k] && !send(AddrChange{Addr: k.addr, Link: k.link, Added: true}) {
				sub.close()
				return nil
			}
		}
		if !sub.forward(ctx, send) {
			return nil // ctx ended
		}
	}
}

// addrSub is one subscription to the address notifications.
type addrSub struct {
	updates chan netlink.AddrUpdate
	done    chan struct{}
	// netlink reports both what ends the subscription (a failed receive, after which
	// it closes updates) and what it skips (a message from another sender); the last
	// one explains a closed subscription.
	err atomic.Pointer[error]
}

func (w NetlinkAddrs) subscribe() (*addrSub, error) {
	s := &addrSub{updates: make(chan netlink.AddrUpdate, 64), done: make(chan struct{})}
	if err := netlink.AddrSubscribeWithOptions(s.updates, s.done, w.subscribeOptions(func(err error) { s.err.Store(&err) })); err != nil {
		return nil, fmt.Errorf("ha_suspend: watching addresses: %w", err)
	}
	return s, nil
}

func (s *addrSub) lastErr() error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

// forward sends the notifications on until ctx ends (false, the subscription closed)
// or the subscription does (true).
func (s *addrSub) forward(ctx context.Context, send func(AddrChange) bool) bool {
	for {
		select {
		case <-ctx.Done():
			s.close()
			return false
		case u, ok := <-s.updates:
			if !ok {
				s.close() // ends netlink's goroutine that waits for done
				return true
			}
			addr, ok := netip.AddrFromSlice(u.LinkAddress.IP)
			if !ok {
				continue
			}
			if !send(AddrChange{Addr: addr.Unmap(), Link: u.LinkIndex, Added: u.NewAddr}) {
				s.close()
				return false
			}
		}
	}
}

// close ends the subscription: closing done closes the socket, and netlink's reader
// then closes updates once any send it is blocked in has been taken.
func (s *addrSub) close() {
	close(s.done)
	for range s.updates {
	}
}

// list is every address of the namespace now.
func (w NetlinkAddrs) list() (map[addrOnLink]bool, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if w.NS.IsOpen() && w.NS != 0 {
		h, err = netlink.NewHandleAt(w.NS, unix.NETLINK_ROUTE)
	}
	if err != nil {
		return nil, fmt.Errorf("ha_suspend: listing addresses: %w", err)
	}
	defer h.Close()
	addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("ha_suspend: listing addresses: %w", err)
	}
	out := make(map[addrOnLink]bool, len(addrs))
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			out[addrOnLink{ip.Unmap(), a.LinkIndex}] = true
		}
	}
	return out, nil
}
