// SPDX-License-Identifier: (MIT OR GPL-2.0)
//
// govs_xdp is the XDP program of govs's xdp data plane: LVS-DR (destination MAC rewrite)
// and LVS-TUN (IPIP, or IPv6 encapsulation toward an IPv6 real server) for TCP and UDP
// virtual services over IPv4 and IPv6.
//
// Per packet: a flow already in the flow table goes to the destination it was given; a
// packet of a new flow to a virtual service picks a destination from the service's Maglev
// table (computed by the Go side) by a hash of the client, and is remembered. A TCP packet
// other than a SYN with no flow entry (a flow another director began, before a failover)
// picks from a second table built over every configured real server, healthy or not, so
// that it reaches the server the old director chose. Everything else (VRRP, ARP,
// ICMPv6 and NDP, IPv6 extension headers, fragments, the director's own traffic) is
// passed to the kernel untouched.
//
// Addresses are kept in IPv6 form everywhere (an IPv4 address as ::ffff:a.b.c.d), so one
// flow table, one services map and one set of counters serve both families.
//
// The flow table is one LRU hash shared by every CPU: a flow is found whichever CPU its
// packets arrive on (a veth, or generic XDP, runs the program on the sender's CPU). Its
// lookup costs most of a packet's time, so each CPU keeps a direct-mapped cache of the
// flows it saw in front of it, holding what forwarding needs (the MACs, the egress
// interface, the counters' index): a plain data packet whose flow is in the cache,
// stamped in this epoch, touches no other map than its counters. The Go side moves the
// epoch on every tick of the clock and whenever the destinations change, so a cached copy
// is never older than either. Packets with SYN, FIN or RST, and the first packet of a
// flow in each epoch, go to the shared table, which so keeps each flow's state (closed or
// not) and the tick it was last seen, for the Go side's aging of idle flows.
//
// The Go side owns all policy: it fills the services map (one element per virtual service,
// holding its Maglev tables, so replacing the element swaps them atomically), the dests
// array (replaced as a whole: never read half-written), the clock and the epoch, and
// reads the per-CPU counters.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the flow key is built as little-endian 64-bit words"
#endif

char __license[] SEC("license") = "Dual MIT/GPL";

// MAGLEV_SIZE is the kernel's ip_vs_mh table size, so an mh service picks the same real
// server as an IPVS director would.
#define MAGLEV_SIZE 4093
#define MAX_SERVICES 1024
#define MAX_DESTS 4096
#define MAX_FLOWS (1 << 20)
#define NO_DEST 0xffff

// Service flags.
#define SVC_HASH_PORT (1 << 0)  // hash the client port too (per-flow spread, sh-port, mh-port)
#define SVC_HASH_DADDR (1 << 1) // hash the destination address instead of the client (dh)
#define SVC_IPV6 (1 << 2)       // an IPv6 service: hash the address folded to 32 bits, as ip_vs_mh

// Dest flags.
#define DEST_AVAILABLE (1 << 0) // may take new flows (weight > 0, MAC known)
#define DEST_TUNNEL (1 << 1)    // encapsulate (LVS-TUN) instead of rewriting the MAC
#define DEST_IPV6 (1 << 2)      // the real server is IPv6: a TUN outer header is IPv6
#define DEST_REACHABLE (1 << 3) // its MAC is known: may take mid-flow packets, even if not available

struct svc_key {
	__be32 addr[4]; // IPv6, or IPv4 as ::ffff:a.b.c.d
	__be16 port;
	__u8 proto;
	__u8 pad;
};

struct svc {
	__u32 flags;
	__be32 client_mask[4]; // persistence netmask applied before hashing the client
	// Two Maglev tables of dest ids (NO_DEST: empty slot): first over the servers
	// taking new flows, then (at MAGLEV_SIZE) over every configured server, healthy or
	// not. One array, so that the verifier sees one bound.
	__u16 tables[2 * MAGLEV_SIZE];
};
#define ALL_TABLE MAGLEV_SIZE

struct dest {
	__u8 dmac[ETH_ALEN]; // the real server's (DR) or the next hop's (TUN) MAC
	__u8 smac[ETH_ALEN]; // the egress interface's MAC
	__u32 ifindex;       // egress interface
	__be32 daddr[4];     // real server (TUN outer destination)
	__be32 saddr[4];     // director's address toward it (TUN outer source)
	__u32 flags;
	__u32 gen;  // changes whenever the id is given to another destination
	__u16 mtu;  // of the egress interface: an encapsulated packet may be this long (TUN)
	__u16 pad;
};

struct flow_key {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct flow {
	__u32 dest;
	__u32 gen;
	__u32 closed; // the client sent FIN or RST; counted once
	__u32 seen;   // the clock when a packet of the flow was last seen
};

// cache_slot is one entry of a CPU's flow cache: what forwarding a flow's packet needs,
// valid while stamp is the current epoch. 64 bytes.
struct cache_slot {
	struct flow_key key;
	__u8 macs[2 * ETH_ALEN]; // destination then source MAC, as the frame starts
	__u16 dest;              // the destination's id (its counters)
	__u16 tunnel;            // encapsulate: the destination's element is needed
	__u32 ifindex;           // egress interface
	__u32 stamp;
};

// clock is a coarse time (seconds) the Go side advances; epoch changes with the clock and
// whenever the destinations change. Global variables: the program reads each with one
// load, no map lookup.
__u32 clock;
__u32 epoch;

// cache_mask is the number of flow_cache slots per CPU minus 1 (slots are a power of
// two), set by the Go side before loading: a constant to the verifier.
volatile const __u32 cache_mask;

struct counters {
	__u64 packets;
	__u64 bytes;
	__u64 conns;  // new flows
	__u64 closes; // TCP flows the client closed (FIN/RST), for the active-flow count
};

// Global drop reasons, indexes into the drops map.
#define DROP_NO_DEST 0   // the Maglev slot is empty or its server is quiesced
#define DROP_NO_ROOM 1   // bpf_xdp_adjust_head failed (TUN)
#define DROP_DEST_GONE 2 // the slot names a dest id that is not installed
#define DROP_TOO_BIG 3   // too big for the tunnel and fragmentable (TUN): XDP cannot fragment
#define DROP_REASONS 4

// services is not preallocated: an update then allocates a new element and frees the old
// one after every reader is done with it, so a Maglev table is never read while it is
// overwritten.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MAX_SERVICES);
	__type(key, struct svc_key);
	__type(value, struct svc);
} services SEC(".maps");

// dests holds one array of destinations (its lookups are inlined). The Go side never
// writes the array in use: it writes the other one of a pair and swaps it in, and the
// swap (an update of this map of maps) returns only once no program can still be
// reading the old one. A removed destination has gen 0 and no flags.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_ARRAY);
		__uint(max_entries, MAX_DESTS);
		__type(key, __u32);
		__type(value, struct dest);
	});
} dests SEC(".maps");

// vip_ports is a bitmap of the ports of every virtual service: a packet to any other port
// is passed after one inlined array lookup, without touching the hash maps.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536 / 64);
	__type(key, __u32);
	__type(value, __u64);
} vip_ports SEC(".maps");

// flows is one LRU hash with per-CPU LRU lists (BPF_F_NO_COMMON_LRU): no lock shared
// between CPUs on the LRU, and a flow is found whichever CPU first saw it.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, MAX_FLOWS);
	__type(key, struct flow_key);
	__type(value, struct flow);
} flows SEC(".maps");

// flow_cache is each CPU's direct-mapped cache of the flow table; the Go side sizes it
// (max_entries) at load time and sets cache_mask to match.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cache_slot);
} flow_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_DESTS);
	__type(key, __u32);
	__type(value, struct counters);
} dest_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");


static __always_inline __u64 rotl64(__u64 x, int b) { return (x << b) | (x >> (64 - b)); }

#define SIPROUND                                                                           \
	do {                                                                                   \
		v0 += v1;                                                                          \
		v1 = rotl64(v1, 13);                                                               \
		v1 ^= v0;                                                                          \
		v0 = rotl64(v0, 32);                                                               \
		v2 += v3;                                                                          \
		v3 = rotl64(v3, 16);                                                               \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = rotl64(v3, 21);                                                               \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = rotl64(v1, 17);                                                               \
		v1 ^= v2;                                                                          \
		v2 = rotl64(v2, 32);                                                               \
	} while (0)

// mh_hash is the kernel's hsiphash() of one 32-bit value with ip_vs_mh's first key
// (2654435761, 2654435761): SipHash-1-3 truncated to 32 bits, as on 64-bit hosts.
static __always_inline __u32 mh_hash(__u32 v)
{
	const __u64 k = 2654435761ULL;
	__u64 v0 = 0x736f6d6570736575ULL ^ k;
	__u64 v1 = 0x646f72616e646f6dULL ^ k;
	__u64 v2 = 0x6c7967656e657261ULL ^ k;
	__u64 v3 = 0x7465646279746573ULL ^ k;
	__u64 b = ((__u64)4 << 56) | v;

	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return (__u32)((v0 ^ v1) ^ (v2 ^ v3));
}

// flow_cache_index hashes a flow (its addresses folded to 64 bits, its ports and
// protocol) to its slot of the CPU's flow cache: a fold and one multiplication
// (Fibonacci hashing: the high bits, of at most 16), as the slot only has to spread flows
// and the shared table stays authoritative.
static __always_inline __u32 flow_cache_index(__u64 src, __u64 dst, __u64 rest, __u32 mask)
{
	__u64 x = src ^ rotl64(dst, 21) ^ rotl64(rest, 43);
	x ^= x >> 32;
	return (__u32)((x * 0x9e3779b97f4a7c15ULL) >> 48) & mask;
}

static __always_inline void count_drop(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &reason);
	if (n)
		*n += 1;
}

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

// Results of encap.
#define ENCAP_NO_ROOM -1
#define ENCAP_TOO_BIG -2

// push_outer makes room for an outer IP header of len bytes between the Ethernet header
// and the packet, and addresses the frame to d; it returns where the outer header goes,
// or NULL when the packet has no headroom.
static __always_inline void *push_outer(struct xdp_md *ctx, const struct dest *d, __u32 len, __u16 eth_proto)
{
	if (bpf_xdp_adjust_head(ctx, -(int)len))
		return NULL;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if (data + sizeof(struct ethhdr) + len > data_end)
		return NULL;
	__builtin_memcpy(eth->h_dest, d->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, d->smac, ETH_ALEN);
	eth->h_proto = bpf_htons(eth_proto);
	return data + sizeof(struct ethhdr);
}

// encap prepends an outer header addressed to the real server, as IPVS's
// ip_vs_tunnel_xmit (IPv4: IPIP) and ip_vs_tunnel_xmit_v6 (IPv6) do for the default ipip
// tunnel type: an IPv4 outer header with protocol 4 (IPv4 inside) or 41 (IPv6 inside), or
// an IPv6 one with next header 4 or 41. It is not inlined: as a function taking a struct
// dest it puts the struct into the object's BTF, where clang 14 writes only a forward
// declaration for the value of an inner map (and TUN can afford a call).
//
// It returns 0, ENCAP_NO_ROOM, or ENCAP_TOO_BIG when the packet with the outer header
// would exceed the egress interface's MTU (the caller then answers with an ICMP error, or
// drops an IPv4 packet without DF, which IPVS would fragment).
static __attribute__((noinline)) int encap(struct xdp_md *ctx, const struct dest *d, int inner_v6)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 inner_len;
	__u8 tos, ttl;
	if (inner_v6) {
		struct ipv6hdr *inner = data + sizeof(struct ethhdr);
		if ((void *)(inner + 1) > data_end)
			return ENCAP_NO_ROOM;
		inner_len = bpf_ntohs(inner->payload_len) + sizeof(struct ipv6hdr);
		tos = (inner->priority << 4) | (inner->flow_lbl[0] >> 4);
		ttl = inner->hop_limit;
	} else {
		struct iphdr *inner = data + sizeof(struct ethhdr);
		if ((void *)(inner + 1) > data_end)
			return ENCAP_NO_ROOM;
		inner_len = bpf_ntohs(inner->tot_len);
		tos = inner->tos;
		ttl = inner->ttl;
	}
	__u8 inner_proto = inner_v6 ? IPPROTO_IPV6 : IPPROTO_IPIP;

	if (d->flags & DEST_IPV6) {
		if (inner_len + sizeof(struct ipv6hdr) > d->mtu)
			return ENCAP_TOO_BIG;
		struct ipv6hdr *outer = push_outer(ctx, d, sizeof(struct ipv6hdr), ETH_P_IPV6);
		if (!outer)
			return ENCAP_NO_ROOM;
		// Version 6, the inner traffic class, no flow label.
		outer->version = 6;
		outer->priority = tos >> 4;
		outer->flow_lbl[0] = (tos & 0xf) << 4;
		outer->flow_lbl[1] = 0;
		outer->flow_lbl[2] = 0;
		outer->payload_len = bpf_htons(inner_len);
		outer->nexthdr = inner_proto;
		outer->hop_limit = ttl;
		__builtin_memcpy(&outer->saddr, d->saddr, 16);
		__builtin_memcpy(&outer->daddr, d->daddr, 16);
		return 0;
	}

	if (inner_len + sizeof(struct iphdr) > d->mtu)
		return ENCAP_TOO_BIG;
	struct iphdr *outer = push_outer(ctx, d, sizeof(struct iphdr), ETH_P_IP);
	if (!outer)
		return ENCAP_NO_ROOM;

	outer->version = 4;
	outer->ihl = 5;
	outer->tos = tos;
	outer->tot_len = bpf_htons(inner_len + sizeof(struct iphdr));
	outer->id = 0;
	outer->frag_off = bpf_htons(0x4000); // DF, as IPVS sets it when the inner packet has it or PMTU applies
	outer->ttl = ttl;
	outer->protocol = inner_proto;
	outer->check = 0;
	outer->saddr = d->saddr[3];
	outer->daddr = d->daddr[3];

	__u32 sum = 0;
	__u16 *w = (__u16 *)outer;
#pragma unroll
	for (int i = 0; i < (int)sizeof(struct iphdr) / 2; i++)
		sum += w[i];
	outer->check = csum_fold(sum);
	return 0;
}

// icmp_err is the header of an ICMP "fragmentation needed" message (RFC 1191) or an
// ICMPv6 "packet too big" one (RFC 4443); linux/icmp.h cannot be included here (it pulls
// in libc headers).
struct icmp_err {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 unused;
	__be16 mtu;
};
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define ICMPV6_PKT_TOOBIG 2
#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif

// Sizes of the ICMP fragmentation-needed answer: its IPv4 and ICMP headers, and at most
// the quoted original header (up to 60 bytes) and 8 bytes of its payload.
#define ICMP_ROOM (sizeof(struct iphdr) + 8)
#define QUOTE_MAX (60 + 8)

// frag_needed turns the packet into the ICMP "fragmentation needed" answer to its sender
// (RFC 792, RFC 1191: the next-hop MTU is the tunnel's), as IPVS's ip_vs_tunnel_xmit does
// for a DF packet too big for the tunnel, and returns the action that sends it back.
static __attribute__((noinline)) int frag_needed(struct xdp_md *ctx, __u16 mtu)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	__u8 src_mac[ETH_ALEN], dst_mac[ETH_ALEN];
	__builtin_memcpy(src_mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(dst_mac, eth->h_source, ETH_ALEN);
	__be32 to = ip->saddr, from = ip->daddr;
	__u32 quote = ip->ihl * 4 + 8;
	if (quote > QUOTE_MAX)
		return XDP_DROP;
	__u32 len = data_end - data;
	if (sizeof(struct ethhdr) + quote > len)
		return XDP_DROP;

	// Room for the new headers in front, and the payload beyond the quote cut off.
	if (bpf_xdp_adjust_head(ctx, -(int)ICMP_ROOM))
		return XDP_DROP;
	if (bpf_xdp_adjust_tail(ctx, (int)(sizeof(struct ethhdr) + quote) - (int)len))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	struct iphdr *outer = data + sizeof(struct ethhdr);
	struct icmp_err *icmp = (void *)(outer + 1);
	if ((void *)(icmp + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, dst_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, src_mac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);

	outer->version = 4;
	outer->ihl = 5;
	outer->tos = 0xc0; // internetwork control, as the kernel's ICMP errors
	outer->tot_len = bpf_htons(ICMP_ROOM + quote);
	outer->id = 0;
	outer->frag_off = 0;
	outer->ttl = 64;
	outer->protocol = IPPROTO_ICMP;
	outer->check = 0;
	outer->saddr = from;
	outer->daddr = to;
	__u32 sum = 0;
	__u16 *w = (__u16 *)outer;
#pragma unroll
	for (int i = 0; i < (int)sizeof(struct iphdr) / 2; i++)
		sum += w[i];
	outer->check = csum_fold(sum);

	icmp->type = ICMP_DEST_UNREACH;
	icmp->code = ICMP_FRAG_NEEDED;
	icmp->checksum = 0;
	icmp->unused = 0;
	icmp->mtu = bpf_htons(mtu);
	sum = 0;
	w = (__u16 *)icmp;
	for (int i = 0; i < (int)(8 + QUOTE_MAX) / 2; i++) {
		if ((__u32)i * 2 >= 8 + quote || (void *)(w + i + 1) > data_end)
			break;
		sum += w[i];
	}
	icmp->checksum = csum_fold(sum);
	return XDP_TX;
}

// The ICMPv6 packet-too-big answer quotes the IPv6 header and 8 bytes of payload: enough
// for the sender to find its socket (RFC 4443 allows less than the whole packet).
#define QUOTE6 (sizeof(struct ipv6hdr) + 8)
#define ICMP6_ROOM (sizeof(struct ipv6hdr) + 8)

// too_big6 turns an IPv6 packet into the ICMPv6 "packet too big" answer to its sender
// (RFC 4443; the MTU is the tunnel's), as IPVS's ip_vs_tunnel_xmit_v6 does, and returns
// the action that sends it back.
static __attribute__((noinline)) int too_big6(struct xdp_md *ctx, __u32 mtu)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip = data + sizeof(struct ethhdr);
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	__u8 src_mac[ETH_ALEN], dst_mac[ETH_ALEN];
	__builtin_memcpy(src_mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(dst_mac, eth->h_source, ETH_ALEN);
	struct in6_addr to = ip->saddr, from = ip->daddr;
	__u32 len = data_end - data;
	if (sizeof(struct ethhdr) + QUOTE6 > len)
		return XDP_DROP;

	if (bpf_xdp_adjust_head(ctx, -(int)ICMP6_ROOM))
		return XDP_DROP;
	if (bpf_xdp_adjust_tail(ctx, (int)(sizeof(struct ethhdr) + QUOTE6) - (int)len))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	struct ipv6hdr *outer = data + sizeof(struct ethhdr);
	struct icmp_err *icmp = (void *)(outer + 1);
	if ((void *)icmp + 8 + QUOTE6 > data_end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, dst_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, src_mac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IPV6);

	__u16 plen = 8 + QUOTE6;
	outer->version = 6;
	outer->priority = 0;
	outer->flow_lbl[0] = 0;
	outer->flow_lbl[1] = 0;
	outer->flow_lbl[2] = 0;
	outer->payload_len = bpf_htons(plen);
	outer->nexthdr = IPPROTO_ICMPV6;
	outer->hop_limit = 64;
	outer->saddr = from;
	outer->daddr = to;

	icmp->type = ICMPV6_PKT_TOOBIG;
	icmp->code = 0;
	icmp->checksum = 0;
	icmp->unused = bpf_htons(mtu >> 16);
	icmp->mtu = bpf_htons(mtu & 0xffff);
	// The checksum covers the pseudo-header (addresses, length, next header) and the
	// message.
	__u32 sum = bpf_htons(plen) + bpf_htons(IPPROTO_ICMPV6);
	__u16 *w = (__u16 *)&outer->saddr;
#pragma unroll
	for (int i = 0; i < 16; i++)
		sum += w[i];
	w = (__u16 *)icmp;
#pragma unroll
	for (int i = 0; i < (int)(8 + QUOTE6) / 2; i++)
		sum += w[i];
	icmp->checksum = csum_fold(sum);
	return XDP_TX;
}

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

SEC("xdp")
int govs_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 bytes = data_end - data;

	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;

	// The flow key is held as five 64-bit words (struct flow_key's layout, on this
	// little-endian target): the fast path compares them with the cached key in
	// registers, and only a miss writes them to the stack.
	__u64 k0, k1, k2, k3;
	__u8 proto;
	void *l4;
	int v6 = 0;
	__u8 df = 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end)
			return XDP_PASS;
		// Fragments carry no (or partial) ports: the kernel gets them.
		if (ip->frag_off & bpf_htons(0x3fff))
			return XDP_PASS;
		if (ip->ihl == 5) {
			l4 = ip + 1;
		} else {
			if (ip->ihl < 5)
				return XDP_PASS;
			l4 = (void *)ip + ip->ihl * 4;
		}
		proto = ip->protocol;
		// ::ffff:a.b.c.d: words 0, 0, htonl(0xffff), the address.
		k0 = 0;
		k1 = (__u64)ip->saddr << 32 | bpf_htonl(0xffff);
		k2 = 0;
		k3 = (__u64)ip->daddr << 32 | bpf_htonl(0xffff);
		df = (ip->frag_off & bpf_htons(0x4000)) != 0;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		// Only TCP or UDP right after the fixed header: ICMPv6 (NDP), extension headers
		// and fragments go to the kernel.
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		v6 = 1;
		l4 = ip6 + 1;
		proto = ip6->nexthdr;
		const __u64 *a = (const __u64 *)&ip6->saddr;
		k0 = a[0];
		k1 = a[1];
		k2 = a[2];
		k3 = a[3];
		// An IPv4-mapped destination never travels in IPv6 (RFC 4291 2.5.5.2); in this
		// form it would be an IPv4 service's key.
		if (k2 == 0 && (__u32)k3 == bpf_htonl(0xffff))
			return XDP_PASS;
	} else {
		return XDP_PASS;
	}

	__u8 tcp_flags = 0;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		if ((void *)(th + 1) > data_end)
			return XDP_PASS;
		tcp_flags = ((__u8 *)th)[13];
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;
		if ((void *)(uh + 1) > data_end)
			return XDP_PASS;
	} else {
		return XDP_PASS;
	}
	// Source and destination port, then the protocol: the key's last word.
	__u32 ports = *(__u32 *)l4;
	__u64 k4 = ports | (__u64)proto << 32;

	// The epoch is read before the destinations: a cached copy stamped with it was
	// made from them after it was set (see the Go side's flushDests).
	__u32 now_epoch = *(volatile __u32 *)&epoch;
	__u32 slot_idx = flow_cache_index(k0 ^ k1, k2 ^ k3, k4, cache_mask);
	struct cache_slot *cs = bpf_map_lookup_elem(&flow_cache, &slot_idx);
	if (!cs)
		return XDP_PASS;

	__u32 id;
	struct counters *c;
	const struct dest *d = 0;
	const __u64 *ck = (const __u64 *)&cs->key;
	if (!(tcp_flags & (TCP_SYN | TCP_FIN | TCP_RST)) && cs->stamp == now_epoch &&
	    ((ck[0] ^ k0) | (ck[1] ^ k1) | (ck[2] ^ k2) | (ck[3] ^ k3) | (ck[4] ^ k4)) == 0) {
		// The fast path: this CPU saw the flow in this epoch, and it carries no state
		// change.
		id = cs->dest;
		c = bpf_map_lookup_elem(&dest_counters, &id);
		if (!c)
			return XDP_PASS;
		c->packets++;
		c->bytes += bytes;
		if (!cs->tunnel) {
			// Both MACs at once, as three words.
			__u32 *to = (__u32 *)eth;
			const __u32 *from = (const __u32 *)cs->macs;
			to[0] = from[0];
			to[1] = from[1];
			to[2] = from[2];
			if (cs->ifindex == ctx->ingress_ifindex)
				return XDP_TX;
			return bpf_redirect(cs->ifindex, 0);
		}
		__u32 zero = 0;
		void *dest_array = bpf_map_lookup_elem(&dests, &zero);
		if (!dest_array)
			return XDP_PASS;
		d = bpf_map_lookup_elem(dest_array, &id);
		if (!d)
			return XDP_PASS;
		goto tunnel;
	}

	// Not a flow of this CPU's cache: is it for a virtual service at all?
	__u32 port = bpf_ntohs(ports >> 16);
	__u32 word = port / 64;
	__u64 *bits = bpf_map_lookup_elem(&vip_ports, &word);
	if (!bits || !(*bits & (1ULL << (port % 64))))
		return XDP_PASS;

	struct flow_key fk;
	__u64 *kw = (__u64 *)&fk;
	kw[0] = k0;
	kw[1] = k1;
	kw[2] = k2;
	kw[3] = k3;
	kw[4] = k4;
	int is_syn = (tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
	int is_close = tcp_flags & (TCP_FIN | TCP_RST);
	__u32 zero = 0;
	void *dest_array = bpf_map_lookup_elem(&dests, &zero);
	if (!dest_array)
		return XDP_PASS;
	__u32 now = clock;

	struct flow *f = bpf_map_lookup_elem(&flows, &fk);
	if (f) {
		id = f->dest;
		d = bpf_map_lookup_elem(dest_array, &id);
		if (d && (d->gen != f->gen || d->gen == 0))
			d = 0;
	}
	if (!d) {
		// A new flow, or one whose destination has gone: schedule it. A TCP packet
		// other than a SYN is scheduled too, so that after a failover the other
		// director, which computes the same Maglev tables, carries on established
		// flows: from the table of every configured server, the one the old director
		// chose from when the flow began, even if its server has failed a check since.
		struct svc_key sk = {.port = fk.dport, .proto = fk.proto};
		__builtin_memcpy(sk.addr, fk.daddr, 16);
		struct svc *s = bpf_map_lookup_elem(&services, &sk);
		if (!s)
			return XDP_PASS;
		const __be32 *a = (s->flags & SVC_HASH_DADDR) ? fk.daddr : fk.saddr;
		__u32 v;
		if (s->flags & SVC_IPV6)
			v = (a[0] & s->client_mask[0]) ^ (a[1] & s->client_mask[1]) ^
			    (a[2] & s->client_mask[2]) ^ (a[3] & s->client_mask[3]);
		else
			v = a[3] & s->client_mask[3];
		v = bpf_ntohl(v);
		if (s->flags & SVC_HASH_PORT)
			v += bpf_ntohs(fk.sport);
		int midflow = fk.proto == IPPROTO_TCP && !(tcp_flags & TCP_SYN);
		__u32 slot = mh_hash(v) % MAGLEV_SIZE + (midflow ? ALL_TABLE : 0);
		// Hide the arithmetic from the compiler, which would drop the bound the verifier
		// needs.
		asm volatile("" : "+r"(slot));
		if (slot >= 2 * MAGLEV_SIZE)
			return XDP_PASS;
		id = s->tables[slot];
		if (id == NO_DEST) {
			count_drop(DROP_NO_DEST);
			return XDP_DROP;
		}
		d = bpf_map_lookup_elem(dest_array, &id);
		if (!d || d->gen == 0) {
			count_drop(DROP_DEST_GONE);
			return XDP_DROP;
		}
		if (!(d->flags & (midflow ? DEST_REACHABLE : DEST_AVAILABLE))) {
			count_drop(DROP_NO_DEST);
			return XDP_DROP;
		}
		struct flow nf = {.dest = id, .gen = d->gen, .closed = is_close ? 1 : 0, .seen = now};
		bpf_map_update_elem(&flows, &fk, &nf, BPF_ANY);
		c = bpf_map_lookup_elem(&dest_counters, &id);
		if (!c)
			return XDP_PASS;
		c->conns++;
		if (is_close && fk.proto == IPPROTO_TCP)
			c->closes++;
	} else {
		c = bpf_map_lookup_elem(&dest_counters, &id);
		if (!c)
			return XDP_PASS;
		if (f->seen != now)
			f->seen = now;
		if (fk.proto == IPPROTO_TCP) {
			if (is_syn && f->closed) {
				// The client reuses the 4-tuple: a new connection on the same server.
				f->closed = 0;
				c->conns++;
			} else if (is_close && !f->closed) {
				f->closed = 1;
				c->closes++;
			}
		}
	}
	__builtin_memcpy(&cs->key, &fk, sizeof(fk));
	__builtin_memcpy(cs->macs, d->dmac, 2 * ETH_ALEN);
	cs->dest = id;
	cs->tunnel = (d->flags & DEST_TUNNEL) != 0;
	cs->ifindex = d->ifindex;
	cs->stamp = now_epoch;
	c->packets++;
	c->bytes += bytes;

	if (!(d->flags & DEST_TUNNEL)) {
		// Both MACs at once, as three words: struct dest keeps them side by side.
		__u32 *to = (__u32 *)eth;
		const __u32 *from = (const __u32 *)d->dmac;
		to[0] = from[0];
		to[1] = from[1];
		to[2] = from[2];
		if (d->ifindex == ctx->ingress_ifindex)
			return XDP_TX;
		return bpf_redirect(d->ifindex, 0);
	}

tunnel:;
	__u32 ifindex = d->ifindex;
	int err = encap(ctx, d, v6);
	if (err == ENCAP_TOO_BIG) {
		__u32 room = (d->flags & DEST_IPV6) ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
		if (v6)
			return too_big6(ctx, d->mtu - room);
		if (df)
			return frag_needed(ctx, d->mtu - room);
		count_drop(DROP_TOO_BIG);
		return XDP_DROP;
	}
	if (err < 0) {
		count_drop(DROP_NO_ROOM);
		return XDP_DROP;
	}
	if (ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(ifindex, 0);
}
