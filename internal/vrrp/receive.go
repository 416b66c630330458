package vrrp

import (
	"crypto/subtle"
	"net/netip"
	"time"
)

// rxPolicy is what an instance accepts, precomputed from its configuration.
type rxPolicy struct {
	version  uint8
	vrid     uint8
	auth     AuthType
	authData [authDataLen]byte
	interval time.Duration // v2 only: must match
	vips     []netip.Addr
	unicast  bool
	peers    []netip.Addr
	// checkPeer is check_unicast_src; ttls are the peers' allowed TTLs.
	checkPeer bool
	ttls      map[netip.Addr]TTLRange
	// skipAddrs is skip_check_adv_addr.
	skipAddrs bool
}

func newRxPolicy(in *InstanceConfig) rxPolicy {
	p := rxPolicy{
		version: in.Version, vrid: in.VRID, auth: in.AuthType, interval: in.AdvertInterval,
		unicast: len(in.UnicastPeers) > 0, peers: in.UnicastPeers, skipAddrs: in.SkipCheckAdvAddr,
		checkPeer: in.CheckUnicastSrc, ttls: in.PeerTTLs,
	}
	if p.auth == AuthPass {
		copy(p.authData[:], in.AuthPass)
	}
	for _, v := range in.VIPs {
		p.vips = append(p.vips, v.Prefix.Addr())
	}
	return p
}

// check applies keepalived's receive checks, in its order, to an advert for our VRID
// that decoded cleanly. nil means accept.
func (p *rxPolicy) check(meta rxMeta, a *Advert) *PacketError {
	if !p.unicast && meta.ttl != TTL {
		return packetErr(ReasonTTL, "TTL", -1, "%d, a multicast advert must have %d", meta.ttl, TTL)
	}
	if a.Version != p.version {
		return packetErr(ReasonVersion, "version", 0, "%d, this instance runs VRRPv%d", a.Version, p.version)
	}
	if a.Version == 2 {
		if a.AuthType != p.auth {
			return packetErr(ReasonAuth, "auth type", 4, "%v, want %v", a.AuthType, p.auth)
		}
		if p.auth == AuthPass && subtle.ConstantTimeCompare(a.AuthData[:], p.authData[:]) != 1 {
			return packetErr(ReasonAuth, "auth data", len(a.Addrs)*4+headerLen, "password mismatch")
		}
		if a.Interval != p.interval {
			return packetErr(ReasonInterval, "advert interval", 5, "%v, ours is %v", a.Interval, p.interval)
		}
	}
	if !p.skipAddrs && len(a.Addrs) != len(p.vips) {
		return packetErr(ReasonAddrCount, "address count", 3, "%d, we have %d virtual addresses", len(a.Addrs), len(p.vips))
	}
	if meta.dst.IsMulticast() == p.unicast {
		return packetErr(ReasonDestination, "destination", -1, "%v does not match the instance's unicast=%v", meta.dst, p.unicast)
	}
	if !p.skipAddrs {
		for i, want := range p.vips {
			if a.Addrs[i] != want && !contains(a.Addrs, want) {
				return packetErr(ReasonAddrs, "addresses", headerLen, "virtual address %v not advertised", p.vips[i])
			}
		}
	}
	if p.unicast && p.checkPeer {
		if !contains(p.peers, meta.src) {
			return packetErr(ReasonPeer, "source", -1, "%v is not a unicast_peer", meta.src)
		}
		if r, ok := p.ttls[meta.src]; ok && (meta.ttl < r.Min || meta.ttl > r.Max) {
			return packetErr(ReasonTTL, "TTL", -1, "%d not in range %d - %d", meta.ttl, r.Min, r.Max)
		}
	}
	return nil
}

func contains(list []netip.Addr, a netip.Addr) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}
